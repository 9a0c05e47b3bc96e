package org.rlhfnode.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsWriterTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path saveDir;

  private Path file() {
    return saveDir.resolve(MetricsFile.FILE_NAME);
  }

  private List<JsonNode> jsonLines() throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(file(), StandardCharsets.UTF_8)) {
      out.add(JSON.readTree(line));
    }
    return out;
  }

  private List<Long> steps() throws IOException {
    return jsonLines().stream().map(n -> n.get("step").asLong()).collect(Collectors.toList());
  }

  private static void logSteps(MetricsWriter w, long from, long to) {
    for (long s = from; s <= to; s++) {
      w.log(s, 1.0 / s, 1e-5, 0.5, 1000.0 + s, Map.of());
    }
  }

  @Test
  void writesOneFlushedObjectPerStepWithStepFirst() throws IOException {
    try (MetricsWriter w = new MetricsWriter(saveDir)) {
      Map<String, Number> algo = new LinkedHashMap<>();
      algo.put("reward_accuracy", 0.75);
      algo.put("samples", 64L);
      w.log(1, 2.5, 1e-6, Double.NaN, 1234.5, algo);
      w.log(2, 2.25, 2e-6, 0.9, 1300.0, Map.of());
      // Not closed yet: every line must already be on disk.
      List<String> lines = Files.readAllLines(file(), StandardCharsets.UTF_8);
      assertEquals(2, lines.size());
      assertEquals("{\"step\":1,\"loss\":2.5,\"lr\":1.0E-6,\"grad_norm\":null,\"tokens_per_s\":1234.5,"
          + "\"reward_accuracy\":0.75,\"samples\":64}", lines.get(0));
      JsonNode second = JSON.readTree(lines.get(1));
      assertEquals(List.of("step", "loss", "lr", "grad_norm", "tokens_per_s"), fieldNames(second));
      assertTrue(JSON.readTree(lines.get(0)).get("samples").isIntegralNumber());
    }
  }

  private static List<String> fieldNames(JsonNode n) {
    List<String> out = new ArrayList<>();
    n.fieldNames().forEachRemaining(out::add);
    return out;
  }

  @Test
  void resumeTruncatesStepsAfterTheCheckpointSoNoStepRepeats() throws IOException {
    try (MetricsWriter w = new MetricsWriter(saveDir)) {
      logSteps(w, 1, 10);
    }
    Files.writeString(file(), "{\"step\":11,\"loss\":0.0", StandardOpenOption.APPEND); // killed mid-line
    try (MetricsWriter w = MetricsWriter.resume(saveDir, 6)) {
      assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), steps());
      assertThrows(IllegalArgumentException.class, () -> w.log(6, 0.1, 0, 0, 0, Map.of()));
      logSteps(w, 7, 12);
    }
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L), steps());
    assertEquals(1.0 / 7, jsonLines().get(6).get("loss").asDouble(), 0.0);
  }

  @Test
  void resumeKeepsTheLaterTimelineWhenAStepWasLoggedTwice() throws IOException {
    Files.writeString(file(), String.join("\n",
        "{\"step\":1,\"loss\":1.0}", "{\"step\":2,\"loss\":2.0}", "{\"step\":3,\"loss\":3.0}",
        "{\"step\":4,\"loss\":4.0}", "{\"step\":2,\"loss\":20.0}", "{\"step\":3,\"loss\":30.0}", ""));
    MetricsWriter.resume(saveDir, 3).close();
    List<JsonNode> lines = jsonLines();
    assertEquals(List.of(1L, 2L, 3L), steps());
    assertEquals(30.0, lines.get(2).get("loss").asDouble());
  }

  @Test
  void resumeWithoutAFileStartsOne() throws IOException {
    try (MetricsWriter w = MetricsWriter.resume(saveDir, 40)) {
      assertEquals(40, w.lastStep());
      logSteps(w, 41, 42);
    }
    assertEquals(List.of(41L, 42L), steps());
  }

  @Test
  void aNewRunEmptiesTheMetricsOfAnEarlierOne() throws IOException {
    try (MetricsWriter w = new MetricsWriter(saveDir)) {
      logSteps(w, 1, 5);
    }
    try (MetricsWriter w = new MetricsWriter(saveDir)) {
      logSteps(w, 1, 2);
    }
    assertEquals(List.of(1L, 2L), steps());
  }

  @Test
  void rejectsReservedOrDuplicateMetricNames() {
    try (MetricsWriter w = new MetricsWriter(saveDir)) {
      assertThrows(IllegalArgumentException.class, () -> w.log(1, Map.of("step", 1)));
      assertThrows(IllegalArgumentException.class, () -> w.log(1, 0, 0, 0, 0, Map.of("loss", 1)));
      w.log(3, Map.of("loss", 1));
      assertThrows(IllegalArgumentException.class, () -> w.log(2, Map.of("loss", 1)));
    }
  }

  @Test
  void readerSkipsMalformedLinesAndReadsNullAsNaN() throws IOException {
    Files.writeString(file(), "{\"step\":1,\"loss\":null,\"tag\":\"x\"}\nnot json\n{\"step\":2,\"loss\":0.5}\n");
    List<MetricsRow> rows = MetricsFile.read(file());
    assertEquals(2, rows.size());
    assertTrue(Double.isNaN(rows.get(0).get("loss")));
    assertEquals(List.of("loss"), List.copyOf(rows.get(0).values().keySet()), "strings are not metrics");
    assertEquals(0.5, rows.get(1).get("loss"));
  }
}
