package org.rlhfnode.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads the event files back with a decoder written here from the TFRecord and protobuf specs (not the
 * writer's code) and compares them with metrics.jsonl.
 */
class TensorBoardWriterTest {
  @TempDir
  Path saveDir;

  @TempDir
  Path logDir;

  /** One protobuf field: number, wire type and its value (a Long for varint/fixed, a byte[] for length-delimited). */
  private record Field(int number, int wire, Object value) {
    long asLong() {
      return (Long) value;
    }

    byte[] bytes() {
      return (byte[]) value;
    }
  }

  @Test
  void maskedCrcMatchesTheSpecValueOf123456789() {
    // CRC-32C("123456789") = 0xE3069283 (the check value of the Castagnoli CRC); masked by hand:
    // ((0xE3069283 >>> 15) | (0xE3069283 << 17)) + 0xa282ead8 = 0xC78AB0E5 (mod 2^32)
    byte[] data = "123456789".getBytes(StandardCharsets.US_ASCII);
    assertEquals(0xE3069283L, crc32c(data));
    assertEquals(0xC78AB0E5, TensorBoardWriter.maskedCrc32c(data, 0, data.length));
  }

  @Test
  void everyRowOfMetricsJsonlIsAnEventWithItsScalars() throws IOException {
    try (MetricsWriter w = new MetricsWriter(saveDir).alsoTo(TensorBoardWriter.open(logDir, 0))) {
      for (int s = 1; s <= 5; s++) {
        Map<String, Number> row = new LinkedHashMap<>();
        row.put("reward_mean", 0.25 * s);
        row.put("kl", s == 3 ? Double.NaN : 1e-3 * s); // NaN: null in the file, no scalar in TensorBoard
        row.put("iteration", s);
        row.put("time_generate", 1.5);
        w.log(s, row);
      }
    }
    List<List<Field>> events = readEvents(onlyEventFile());
    assertEquals(2 + 5, events.size(), "file_version, session start, one event per row");
    assertEquals(TensorBoardWriter.FILE_VERSION, new String(field(events.get(0), 3).bytes(), StandardCharsets.UTF_8));
    List<Field> start = decode(field(events.get(1), 7).bytes());
    assertEquals(1, field(start, 1).asLong(), "SessionLog.status START");
    assertEquals(0, field(events.get(1), 2).asLong(), "a new run starts at step 0");
    List<MetricsRow> rows = MetricsFile.read(saveDir.resolve(MetricsFile.FILE_NAME));
    for (int i = 0; i < rows.size(); i++) {
      List<Field> event = events.get(i + 2);
      MetricsRow row = rows.get(i);
      assertEquals(row.step(), field(event, 2).asLong());
      double wall = Double.longBitsToDouble(field(event, 1).asLong());
      assertTrue(Math.abs(wall - System.currentTimeMillis() / 1000.0) < 600, "wall_time in seconds: " + wall);
      Map<String, Float> scalars = scalars(field(event, 5).bytes());
      Map<String, Float> expected = new LinkedHashMap<>();
      row.values().forEach((k, v) -> {
        if (Double.isFinite(v)) {
          expected.put(MetricGroup.of(k).tag() + "/" + k, (float) (double) v);
        }
      });
      assertEquals(expected, scalars, "step " + row.step());
    }
    assertEquals(Map.of("rewards/reward_mean", 0.75f, "other/iteration", 3f, "timing/time_generate", 1.5f),
        scalars(field(events.get(4), 5).bytes()), "the NaN kl of step 3 is left out");
  }

  @Test
  void aResumedRunAddsAFileThatSortsLastAndRestartsAtTheStepAfterTheCheckpoint() throws IOException {
    try (MetricsWriter w = new MetricsWriter(saveDir).alsoTo(TensorBoardWriter.open(logDir, 0))) {
      for (int s = 1; s <= 6; s++) {
        w.log(s, Map.of("loss", 1.0 / s));
      }
    }
    try (MetricsWriter w = MetricsWriter.resume(saveDir, 4).alsoTo(TensorBoardWriter.open(logDir, 5))) {
      w.log(5, Map.of("loss", 0.3));
    }
    List<Path> files;
    try (Stream<Path> list = Files.list(logDir)) {
      files = list.sorted().toList();
    }
    assertEquals(2, files.size());
    assertTrue(files.get(0).getFileName().toString().startsWith(TensorBoardWriter.PREFIX));
    List<List<Field>> second = readEvents(files.get(1));
    assertEquals(3, second.size());
    assertEquals(5, field(second.get(1), 2).asLong(), "TensorBoard drops steps ≥ 5 of the earlier file");
    assertEquals(1, field(decode(field(second.get(1), 7).bytes()), 1).asLong());
    assertEquals(Map.of("losses/loss", 0.3f), scalars(field(second.get(2), 5).bytes()));
    assertEquals(6, readEvents(files.get(0)).size() - 2, "the first file keeps its six rows");
  }

  @Test
  void eventsAreOnDiskAfterEachRowWithoutClosing() throws IOException {
    MetricsWriter w = new MetricsWriter(saveDir).alsoTo(TensorBoardWriter.open(logDir, 0));
    w.log(1, Map.of("loss", 2.0));
    assertEquals(3, readEvents(onlyEventFile()).size(), "a live TensorBoard sees the row");
    w.close();
  }

  private Path onlyEventFile() throws IOException {
    try (Stream<Path> list = Files.list(logDir)) {
      List<Path> files = list.toList();
      assertEquals(1, files.size(), files.toString());
      return files.get(0);
    }
  }

  /** The records of a TFRecord file, both CRCs checked, each decoded as an Event. */
  private static List<List<Field>> readEvents(Path file) throws IOException {
    ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    List<List<Field>> events = new ArrayList<>();
    while (in.hasRemaining()) {
      byte[] header = new byte[8];
      in.get(header);
      long length = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getLong();
      assertEquals(mask(crc32c(header)), in.getInt(), "length CRC of record " + events.size());
      byte[] data = new byte[(int) length];
      in.get(data);
      assertEquals(mask(crc32c(data)), in.getInt(), "data CRC of record " + events.size());
      events.add(decode(data));
    }
    return events;
  }

  /** Summary.value (field 1, repeated) → tag (1) and simple_value (2, float). */
  private static Map<String, Float> scalars(byte[] summary) {
    Map<String, Float> out = new LinkedHashMap<>();
    for (Field v : decode(summary)) {
      assertEquals(1, v.number());
      List<Field> value = decode(v.bytes());
      Field simple = field(value, 2);
      assertEquals(5, simple.wire(), "simple_value is a 32-bit float");
      out.put(new String(field(value, 1).bytes(), StandardCharsets.UTF_8), Float.intBitsToFloat((int) simple.asLong()));
    }
    return out;
  }

  private static Field field(List<Field> fields, int number) {
    List<Field> found = fields.stream().filter(f -> f.number() == number).toList();
    assertEquals(1, found.size(), "field " + number + " in " + fields);
    return found.get(0);
  }

  /** A protobuf message's fields in order. */
  private static List<Field> decode(byte[] message) {
    ByteBuffer in = ByteBuffer.wrap(message).order(ByteOrder.LITTLE_ENDIAN);
    List<Field> out = new ArrayList<>();
    while (in.hasRemaining()) {
      long key = varint(in);
      int number = (int) (key >>> 3);
      int wire = (int) (key & 7);
      switch (wire) {
        case 0 -> out.add(new Field(number, wire, varint(in)));
        case 1 -> out.add(new Field(number, wire, in.getLong()));
        case 5 -> out.add(new Field(number, wire, (long) in.getInt()));
        case 2 -> {
          byte[] b = new byte[(int) varint(in)];
          in.get(b);
          out.add(new Field(number, wire, b));
        }
        default -> throw new AssertionError("unexpected wire type " + wire);
      }
    }
    return out;
  }

  private static long varint(ByteBuffer in) {
    long v = 0;
    for (int shift = 0; ; shift += 7) {
      byte b = in.get();
      v |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
  }

  private static long crc32c(byte[] data) {
    CRC32C c = new CRC32C();
    c.update(data);
    return c.getValue();
  }

  private static int mask(long crc) {
    int c = (int) crc;
    return Integer.rotateRight(c, 15) + 0xa282ead8;
  }

  @Test
  void tagsGroupMetricsAsTheReportDoes() {
    assertEquals("rewards/eval_reward_mean", MetricGroup.of("eval_reward_mean").tag() + "/eval_reward_mean");
    assertEquals(MetricGroup.KL, MetricGroup.of("kl_loss"));
    assertEquals(MetricGroup.LOSSES, MetricGroup.of("value_loss"));
    assertEquals(MetricGroup.TIMING, MetricGroup.of("step_time_s"));
    assertEquals(MetricGroup.THROUGHPUT, MetricGroup.of("tokens_per_s"));
    assertEquals(MetricGroup.LENGTHS, MetricGroup.of("response_length"));
    assertEquals(MetricGroup.OPTIMIZER, MetricGroup.of("grad_norm"));
    assertFalse(MetricGroup.of("iteration") == MetricGroup.REWARDS);
  }
}
