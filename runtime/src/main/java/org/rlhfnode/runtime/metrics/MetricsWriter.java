package org.rlhfnode.runtime.metrics;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends one JSON object per logged step to {@code metrics.jsonl} in the save directory:
 * {@code {"step": 40, "loss": 1.23, "lr": 5e-6, "grad_norm": 0.8, "tokens_per_s": 10512.3, ...}},
 * {@code step} first, then the metrics in the order given. Each line is flushed as it is written, so
 * the file can be tailed during a run and survives a killed process up to the last whole line.
 *
 * <p>Integer-typed values ({@link Long}, {@link Integer}) are written as JSON integers, others as
 * doubles; NaN and infinities, which JSON cannot hold, are written as {@code null}. Steps must
 * increase, so a file never holds a step twice. {@link #resume} reopens the file of a run being
 * resumed and first drops every line logged after the checkpoint's step. With {@link #alsoTo} each row
 * also goes to a TensorBoard event file. Thread-safe.
 */
public final class MetricsWriter implements AutoCloseable {
  /** The keys every trainer logs, in this order. */
  public static final String LOSS = "loss";
  /** Learning rate of the step. */
  public static final String LR = "lr";
  /** Global gradient norm before clipping. */
  public static final String GRAD_NORM = "grad_norm";
  /** Training throughput. */
  public static final String TOKENS_PER_S = "tokens_per_s";
  private static final String STEP = "step";
  private static final Logger LOG = LoggerFactory.getLogger(MetricsWriter.class);

  private final Path file;
  private final BufferedWriter out;
  private long lastStep;
  private boolean closed;
  private TensorBoardWriter tensorBoard; // also gets every row, or null

  /**
   * Starts the metrics of a new run in {@code saveDir} (created if needed). A {@code metrics.jsonl}
   * left there by an earlier run is emptied, with a WARN.
   */
  public MetricsWriter(Path saveDir) {
    this(prepareFresh(saveDir), Long.MIN_VALUE);
  }

  private MetricsWriter(Path file, long lastStep) {
    this.file = file;
    this.lastStep = lastStep;
    try {
      this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot open for appending: " + e, e);
    }
  }

  /**
   * Reopens the metrics of a run resumed from a checkpoint at {@code resumedStep}: lines with a
   * larger step (logged after that checkpoint by the run that stopped) are removed, as is a torn last
   * line; if the file holds a step more than once, the later line wins and what followed the earlier
   * one is dropped. The file is rewritten atomically. Logging continues with steps after {@code resumedStep}.
   */
  public static MetricsWriter resume(Path saveDir, long resumedStep) {
    Path file = fileIn(saveDir);
    Deque<MetricsFile.Line> kept = new ArrayDeque<>();
    int total = 0;
    for (MetricsFile.Line line : MetricsFile.lines(file)) {
      total++;
      while (!kept.isEmpty() && kept.peekLast().row().step() >= line.row().step()) {
        kept.pollLast();
      }
      if (line.row().step() <= resumedStep) {
        kept.addLast(line);
      }
    }
    if (Files.exists(file)) {
      rewrite(file, kept);
      LOG.info("{}: resuming after step {}, kept {} line(s), dropped {}", file, resumedStep, kept.size(),
          total - kept.size());
    }
    long last = kept.isEmpty() ? resumedStep : Math.max(resumedStep, kept.peekLast().row().step());
    return new MetricsWriter(file, last);
  }

  /**
   * Reopens the metrics of a run restored from a checkpoint at {@code restoredStep}: the file becomes
   * exactly the lines of {@code source} (the copy of {@code metrics.jsonl} the checkpoint holds) with a
   * step ≤ {@code restoredStep}, so each step appears once whatever the crashed run had appended, and
   * whichever machine the file is on. Rewritten atomically; logging continues after {@code restoredStep}.
   * A null {@code source} (restoring the initial state) empties the file.
   */
  public static MetricsWriter restore(Path saveDir, Path source, long restoredStep) {
    Path file = fileIn(saveDir);
    List<MetricsFile.Line> kept = new ArrayList<>();
    for (MetricsFile.Line line : source == null ? List.<MetricsFile.Line>of() : MetricsFile.lines(source)) {
      if (line.row().step() <= restoredStep) {
        kept.add(line);
      }
    }
    int before = MetricsFile.lines(file).size();
    rewrite(file, kept);
    LOG.info("{}: restored {} line(s) through step {} from {} (the file had {})", file, kept.size(), restoredStep,
        source, before);
    return new MetricsWriter(file, kept.isEmpty() ? Long.MIN_VALUE : kept.get(kept.size() - 1).row().step());
  }

  private static Path fileIn(Path saveDir) {
    Objects.requireNonNull(saveDir, "saveDir");
    try {
      org.rlhfnode.runtime.io.OwnerOnly.createDirectories(saveDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + saveDir + ": " + e, e);
    }
    return saveDir.resolve(MetricsFile.FILE_NAME);
  }

  private static Path prepareFresh(Path saveDir) {
    Path file = fileIn(saveDir);
    try {
      if (Files.exists(file) && Files.size(file) > 0) {
        LOG.warn("{}: starting a new run, discarding the {} line(s) of an earlier one", file,
            MetricsFile.lines(file).size());
        Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING).close();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot truncate: " + e, e);
    }
    return file;
  }

  /** Replaces {@code file} with {@code lines}: temporary file, fsync, rename. */
  private static void rewrite(Path file, Iterable<MetricsFile.Line> lines) {
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    try {
      try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        for (MetricsFile.Line line : lines) {
          w.write(line.text());
          w.write('\n');
        }
      }
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot rewrite for resume: " + e, e);
    }
  }

  /**
   * Also writes every row from now on to {@code events} (closed with this writer), e.g. for
   * {@code --use_tensorboard}; returns this.
   */
  public synchronized MetricsWriter alsoTo(TensorBoardWriter events) {
    this.tensorBoard = Objects.requireNonNull(events, "events");
    return this;
  }

  /** The file being written. */
  public Path file() {
    return file;
  }

  /** The standard metrics of a training step plus the algorithm's own (e.g. {@code reward_accuracy}). */
  public void log(long step, double loss, double lr, double gradNorm, double tokensPerS,
      Map<String, ? extends Number> algorithmMetrics) {
    Map<String, Number> all = new LinkedHashMap<>();
    all.put(LOSS, loss);
    all.put(LR, lr);
    all.put(GRAD_NORM, gradNorm);
    all.put(TOKENS_PER_S, tokensPerS);
    algorithmMetrics.forEach((k, v) -> {
      if (all.containsKey(k)) {
        throw new IllegalArgumentException("metric '" + k + "' is given twice");
      }
      all.put(k, v);
    });
    log(step, all);
  }

  /**
   * Appends and flushes one line.
   *
   * @throws IllegalArgumentException if {@code step} is not after the last logged (or resumed) step,
   *     or a metric is named {@code step} or has an empty name or a null value
   */
  public synchronized void log(long step, Map<String, ? extends Number> metrics) {
    if (closed) {
      throw new IllegalStateException(file + ": metrics writer is closed");
    }
    if (step <= lastStep) {
      throw new IllegalArgumentException("step " + step + " is not after the last logged step " + lastStep);
    }
    String line = encode(step, metrics);
    try {
      out.write(line);
      out.write('\n');
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot append: " + e, e);
    }
    lastStep = step;
    if (tensorBoard != null) {
      tensorBoard.write(step, metrics);
    }
  }

  private static String encode(long step, Map<String, ? extends Number> metrics) {
    ObjectNode node = MetricsFile.MAPPER.createObjectNode();
    node.put(STEP, step);
    for (Map.Entry<String, ? extends Number> e : metrics.entrySet()) {
      String key = e.getKey();
      Number v = e.getValue();
      if (key == null || key.isEmpty() || key.equals(STEP) || v == null) {
        throw new IllegalArgumentException("invalid metric '" + key + "' = " + v);
      }
      if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
        node.put(key, v.longValue());
      } else if (Double.isFinite(v.doubleValue())) {
        node.put(key, v.doubleValue());
      } else {
        node.putNull(key);
      }
    }
    try {
      return MetricsFile.MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode metrics: " + e.getOriginalMessage(), e);
    }
  }

  /** The last step logged, or the resumed step; {@link Long#MIN_VALUE} before the first line of a new run. */
  public synchronized long lastStep() {
    return lastStep;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (tensorBoard != null) {
      tensorBoard.close();
    }
    try {
      out.close();
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot close: " + e, e);
    }
  }
}
