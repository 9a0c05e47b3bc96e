package org.rlhfnode.runtime.train;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.NoGradGuard;
import org.rlhfnode.runtime.checkpoint.CheckpointManager;
import org.rlhfnode.runtime.checkpoint.RngState;
import org.rlhfnode.runtime.checkpoint.SavedTensors;
import org.rlhfnode.runtime.checkpoint.StateShare;
import org.rlhfnode.runtime.checkpoint.TrainingState;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.metrics.MetricsWriter;
import org.rlhfnode.runtime.metrics.ProgressDisplay;
import org.rlhfnode.runtime.metrics.RunReport;
import org.rlhfnode.runtime.metrics.Summary;
import org.rlhfnode.runtime.metrics.TensorBoardWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole offline training run around a {@link Trainer}: resume from the newest complete
 * checkpoint ({@code --load_checkpoint}), the step loop with logging every {@code logging_steps},
 * evaluation every {@code eval_steps}, checkpoints every {@code save_steps} (weights, optimizer,
 * data cursor, step) and the final export. A resumed run continues with exactly the batches and
 * optimizer state the uninterrupted run would have had, so its losses match step for step.
 *
 * <p>On N data-parallel ranks every rank runs this loop (checkpoints and evaluations are collective);
 * rank 0 alone writes {@code metrics.jsonl}, the progress bar and the report. A checkpoint is
 * consolidated (rank 0 writes it) or, under ZeRO, one file per rank, each rank writing its own.
 */
public final class TrainingRun<B> {
  private static final Logger LOG = LoggerFactory.getLogger(TrainingRun.class);

  private final Trainer<B> trainer;
  private final Supplier<Map<String, Double>> evaluator;
  private final Consumer<Path> exporter;
  private final String label;
  private final boolean writes; // rank 0
  private Generator rng; // random stream the loss depends on (e.g. LoRA dropout), or null
  private Path tensorBoard; // --use_tensorboard directory, or null
  private Consumer<Path> hfCopy; // --save_hf_ckpt: writes the model as a HuggingFace directory; every rank runs it

  /**
   * @param evaluator eval metrics on the held-out set (prefixed {@code eval_}), or null; runs on every rank
   * @param exporter writes the final model to a directory, or null; runs on every rank
   * @param label the algorithm's name on the progress bar
   */
  public TrainingRun(Trainer<B> trainer, Supplier<Map<String, Double>> evaluator, Consumer<Path> exporter,
      String label) {
    this.trainer = trainer;
    this.evaluator = evaluator;
    this.exporter = exporter;
    this.label = label;
    this.writes = trainer.collectives().isFirst();
  }

  /** Saves and restores this generator's state with every checkpoint, so a resumed run draws the same numbers. */
  public TrainingRun<B> withRandomStream(Generator generator) {
    this.rng = generator;
    return this;
  }

  /**
   * Each checkpoint also gets the model as a HuggingFace directory, {@code hf/} ({@code --save_hf_ckpt}):
   * {@code writer} runs on every rank (it may gather a sharded model) inside the checkpoint's write.
   */
  public TrainingRun<B> withHfCheckpoints(Consumer<Path> writer) {
    this.hfCopy = writer;
    return this;
  }

  /**
   * Rank 0 also writes every metrics row to a TensorBoard event file in {@code dir} (null: none); a resumed
   * run adds a new file there ({@link TensorBoardWriter}).
   */
  public TrainingRun<B> withTensorBoard(Path dir) {
    this.tensorBoard = dir;
    return this;
  }

  /**
   * Runs to the end (or {@code max_steps}): {@code metrics.jsonl}, the progress bar, checkpoints, the
   * final export, then {@code report.html} and a printed summary. Returns the summary (null on
   * ranks other than 0).
   */
  public Summary run() {
    TrainConfig cfg = trainer.config();
    Instant began = Instant.now();
    CheckpointManager checkpoints = new CheckpointManager(cfg.checkpointDir(), cfg.maxCkptNum());
    long total = Trainer.totalSteps(cfg, trainer.source().stepsPerEpoch());
    if (total < 1) {
      throw new IllegalArgumentException("the training data holds fewer examples than one --train_batch_size ("
          + cfg.trainBatchSize() + "): no optimizer step can run");
    }
    long start = cfg.loadCheckpoint() ? resume(checkpoints) : 0;
    if (!writes) {
      loop(checkpoints, null, null, start, total);
      if (exporter != null) {
        exporter.accept(cfg.savePath());
      }
      return null;
    }
    ProgressDisplay progress = ProgressDisplay.onStderr(label, total, start);
    try (MetricsWriter metrics = start > 0 ? MetricsWriter.resume(cfg.savePath(), start)
        : new MetricsWriter(cfg.savePath())) {
      if (tensorBoard != null) {
        metrics.alsoTo(TensorBoardWriter.open(tensorBoard, start > 0 ? start + 1 : 0));
      }
      loop(checkpoints, metrics, progress, start, total);
    } finally {
      progress.finish();
    }
    if (exporter != null) {
      exporter.accept(cfg.savePath());
    }
    return RunReport.finish(cfg.savePath(), Duration.between(began, Instant.now()), System.err);
  }

  /** {@code metrics} and {@code progress} are null on ranks other than 0. */
  private void loop(CheckpointManager checkpoints, MetricsWriter metrics, ProgressDisplay progress, long start,
      long total) {
    TrainConfig cfg = trainer.config();
    if (start == 0 && evaluator != null) {
      Map<String, Double> baseline = evaluator.get(); // the baseline the run is judged against
      if (metrics != null) {
        metrics.log(0, baseline);
      }
    }
    for (long step = start; step < total; step++) {
      Trainer.StepResult r = trainer.step(step);
      long done = step + 1;
      boolean logNow = done % cfg.loggingSteps() == 0 || done == total;
      boolean evalNow = evaluator != null && cfg.evalSteps() > 0 && done % cfg.evalSteps() == 0;
      boolean finalEval = evaluator != null && done == total && !evalNow;
      if (logNow || evalNow || finalEval) {
        Map<String, Double> row = row(r);
        if (evalNow || finalEval) {
          row.putAll(evaluator.get());
        }
        if (metrics != null) {
          metrics.log(done, row);
        }
      }
      if (progress != null) {
        progress.update(done, r.loss());
      }
      if (cfg.saveSteps() > 0 && done % cfg.saveSteps() == 0) {
        save(checkpoints, done);
      }
    }
  }

  private static Map<String, Double> row(Trainer.StepResult r) {
    Map<String, Double> row = new LinkedHashMap<>();
    row.put("loss", r.loss());
    row.put("lr", r.lr());
    row.put("grad_norm", r.gradNorm());
    row.put("tokens_per_s", r.seconds() > 0 ? r.tokens() / r.seconds() : 0.0);
    row.put("step_time_s", r.seconds());
    row.put("rss_mb", org.bytedeco.javacpp.Pointer.physicalBytes() / 1048576.0); // steady over a healthy run
    row.putAll(r.metrics());
    return row;
  }

  /**
   * Every rank writes its share ({@link ParameterUpdate#checkpointShare()}) into one staging directory,
   * rank 0 also the training state; rank 0 then seals it (see {@link RankedCheckpoint#save}).
   */
  private void save(CheckpointManager checkpoints, long step) {
    try (PointerScope scope = new PointerScope()) {
      TrainConfig cfg = trainer.config();
      long epoch = step / Math.max(1, trainer.source().stepsPerEpoch());
      RngState random = rng == null ? RngState.of(cfg.seed(), Map.of()) : RngState.capture(cfg.seed(), Map.of(), rng);
      TrainingState state = TrainingState.at(step, epoch, trainer.source().cursor(), random);
      StateShare share = trainer.update().checkpointShare();
      Collectives c = trainer.collectives();
      String tag = CheckpointManager.stepTag(step);
      Path staging = checkpoints.sharedStaging(tag);
      RankedCheckpoint.save(c, "checkpoint " + checkpoints.root().resolve(tag),
          () -> checkpoints.beginShared(staging),
          () -> {
            share.writeTo(staging, c.rank());
            if (c.isFirst()) {
              CheckpointManager.writeState(staging, state);
            }
            if (hfCopy != null) {
              hfCopy.accept(staging.resolve("hf"));
            }
          },
          () -> checkpoints.commit(staging, tag, step),
          () -> checkpoints.abort(staging)); // its last agreement also keeps every rank behind the checkpoint
    }
  }

  /** Rank 0 picks and verifies the newest checkpoint; every rank reads only the ranges it keeps. */
  private long resume(CheckpointManager checkpoints) {
    Optional<Path> latest = RankedCheckpoint.latest(trainer.collectives(), checkpoints);
    if (latest.isEmpty()) {
      LOG.info("no complete checkpoint under {}; starting from step 0", checkpoints.root());
      return 0;
    }
    Path dir = latest.get();
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard();
        SavedTensors saved = SavedTensors.open(dir)) {
      TrainingState state = CheckpointManager.readState(dir);
      try {
        trainer.update().restore(saved);
      } catch (IllegalArgumentException e) {
        String m = String.valueOf(e.getMessage());
        throw m.contains(dir.toString()) ? e : new IllegalArgumentException(dir + ": " + m, e);
      }
      trainer.source().restore(state.dataCursor());
      if (rng != null) {
        state.rng().restoreInto(rng);
      }
      LOG.info("resumed from {} at step {}", dir, state.step());
      return state.step();
    }
  }
}
