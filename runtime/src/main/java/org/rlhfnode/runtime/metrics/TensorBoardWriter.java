package org.rlhfnode.runtime.metrics;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the rows of {@code metrics.jsonl} as a TensorBoard event file,
 * {@code <dir>/events.out.tfevents.<secs>.<host>}, one file per process start (a resumed run adds a file;
 * TensorBoard reads every file of a directory in name order).
 *
 * <p>Format: a sequence of TFRecords, each {@code uint64 length (LE) | uint32 masked CRC32C of those 8 bytes |
 * data | uint32 masked CRC32C of data}, with {@code mask(c) = ((c >>> 15) | (c << 17)) + 0xa282ead8}. Each
 * record's data is a serialized {@code tensorflow.Event} (tensorboard/compat/proto/event.proto):
 * {@code wall_time} (double, field 1), {@code step} (int64, 2) and one of {@code file_version} (string, 3:
 * {@code "brain.Event:2"}, the first record), {@code summary} (5) or {@code session_log} (7). A row is one
 * Event whose {@code Summary} (summary.proto) has a repeated {@code value} (field 1) per metric:
 * {@code tag} (string, 1) = {@code <group>/<metric>} ({@link MetricGroup}) and {@code simple_value}
 * (float, 2). Non-finite values (written as {@code null} in metrics.jsonl) are left out.
 *
 * <p>The second record is a {@code SessionLog} with status {@code START} (1) at the first step this
 * process will write: TensorBoard then drops the steps at or after it that earlier files of the directory
 * hold (the iterations a resumed run repeats), as {@link MetricsWriter#resume} does for metrics.jsonl.
 * Every row is flushed, so a running TensorBoard shows progress. Thread-safe.
 */
public final class TensorBoardWriter implements AutoCloseable {
  /** Every event file's name starts with this; TensorBoard looks for "tfevents". */
  public static final String PREFIX = "events.out.tfevents.";
  /** The event format version TensorBoard expects in the first record. */
  static final String FILE_VERSION = "brain.Event:2";
  private static final int MASK_DELTA = 0xa282ead8;
  private static final int SESSION_START = 1;
  private static final int WIRE_VARINT = 0;
  private static final int WIRE_FIXED64 = 1;
  private static final int WIRE_LENGTH = 2;
  private static final int WIRE_FIXED32 = 5;
  private static final Pattern FILE_SECONDS = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)\\..*");
  private static final Logger LOG = LoggerFactory.getLogger(TensorBoardWriter.class);

  private final Path file;
  private final OutputStream out;
  private boolean closed;

  private TensorBoardWriter(Path file, OutputStream out) {
    this.file = file;
    this.out = out;
  }

  /**
   * Creates a new event file in {@code dir} (created if needed) whose rows start at {@code firstStep}: 0 for
   * a new run, the step after the checkpoint for a resumed one. The file's seconds are after those of every
   * event file already there, so it sorts last.
   */
  public static TensorBoardWriter open(Path dir, long firstStep) {
    try {
      org.rlhfnode.runtime.io.OwnerOnly.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("--use_tensorboard " + dir + ": cannot create the directory: " + e, e);
    }
    Path file = dir.resolve(PREFIX + seconds(dir) + "." + host());
    TensorBoardWriter w;
    try {
      w = new TensorBoardWriter(file, new BufferedOutputStream(Files.newOutputStream(file,
          StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)));
    } catch (IOException e) {
      throw new UncheckedIOException("--use_tensorboard " + file + ": cannot create the event file: " + e, e);
    }
    double now = wallTime();
    w.record(event(now, 0, 3, FILE_VERSION.getBytes(StandardCharsets.UTF_8)));
    ByteArrayOutputStream sessionLog = new ByteArrayOutputStream();
    tag(sessionLog, 1, WIRE_VARINT);
    varint(sessionLog, SESSION_START);
    w.record(event(now, firstStep, 7, sessionLog.toByteArray()));
    w.flush();
    LOG.info("TensorBoard events go to {} (tensorboard --logdir {})", file, dir);
    return w;
  }

  /** The file being written. */
  public Path file() {
    return file;
  }

  /** Appends and flushes the row of {@code step}: one Event with a scalar per finite metric. */
  public synchronized void write(long step, Map<String, ? extends Number> metrics) {
    if (closed) {
      throw new IllegalStateException(file + ": TensorBoard writer is closed");
    }
    ByteArrayOutputStream summary = new ByteArrayOutputStream();
    for (Map.Entry<String, ? extends Number> e : metrics.entrySet()) {
      double v = e.getValue().doubleValue();
      if (!Double.isFinite(v)) {
        continue;
      }
      ByteArrayOutputStream value = new ByteArrayOutputStream();
      lengthDelimited(value, 1, (MetricGroup.of(e.getKey()).tag() + "/" + e.getKey()).getBytes(StandardCharsets.UTF_8));
      tag(value, 2, WIRE_FIXED32);
      value.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat((float) v).array());
      lengthDelimited(summary, 1, value.toByteArray());
    }
    record(event(wallTime(), step, 5, summary.toByteArray()));
    flush();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      out.close();
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot close: " + e, e);
    }
  }

  /** The masked CRC32C TFRecord stores: {@code ((c >>> 15) | (c << 17)) + 0xa282ead8}. */
  static int maskedCrc32c(byte[] data, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(data, offset, length);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + MASK_DELTA;
  }

  /** An Event with wall time, step and one length-delimited field {@code field} (3, 5 or 7). */
  private static byte[] event(double wallTime, long step, int field, byte[] payload) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    tag(b, 1, WIRE_FIXED64);
    b.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(wallTime).array());
    tag(b, 2, WIRE_VARINT);
    varint(b, step);
    lengthDelimited(b, field, payload);
    return b.toByteArray();
  }

  private synchronized void record(byte[] data) {
    ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
    header.putLong(data.length);
    header.putInt(maskedCrc32c(header.array(), 0, 8));
    ByteBuffer footer = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    footer.putInt(maskedCrc32c(data, 0, data.length));
    try {
      out.write(header.array());
      out.write(data);
      out.write(footer.array());
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot append: " + e, e);
    }
  }

  private void flush() {
    try {
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot flush: " + e, e);
    }
  }

  private static void tag(ByteArrayOutputStream b, int field, int wireType) {
    varint(b, ((long) field << 3) | wireType);
  }

  private static void lengthDelimited(ByteArrayOutputStream b, int field, byte[] bytes) {
    tag(b, field, WIRE_LENGTH);
    varint(b, bytes.length);
    b.writeBytes(bytes);
  }

  /** Protobuf base-128 varint, least significant group first; negative values take 10 bytes. */
  private static void varint(ByteArrayOutputStream b, long v) {
    while ((v & ~0x7FL) != 0) {
      b.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    b.write((int) v);
  }

  private static double wallTime() {
    return System.currentTimeMillis() / 1000.0;
  }

  /** Now in seconds, or one more than the newest event file of {@code dir} when that is not older. */
  private static long seconds(Path dir) {
    long secs = System.currentTimeMillis() / 1000;
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Matcher m = FILE_SECONDS.matcher(p.getFileName().toString());
        if (m.matches() && m.group(1).length() < 19) {
          secs = Math.max(secs, Long.parseLong(m.group(1)) + 1);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("--use_tensorboard " + dir + ": cannot list: " + e, e);
    }
    return secs;
  }

  private static String host() {
    try {
      return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9._-]", "_");
    } catch (IOException e) {
      return "localhost";
    }
  }
}
