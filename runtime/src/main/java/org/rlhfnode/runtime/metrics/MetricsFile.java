package org.rlhfnode.runtime.metrics;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads {@code metrics.jsonl}: one JSON object per line with an integer {@code step} and numeric
 * metrics. Reading is lenient, because the file may be the one a crashed run was appending to: a
 * torn last line is dropped silently, other malformed lines with a WARN naming {@code file:line},
 * and non-numeric fields are ignored.
 */
public final class MetricsFile {
  /** The file name inside the save directory. */
  public static final String FILE_NAME = "metrics.jsonl";
  static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Logger LOG = LoggerFactory.getLogger(MetricsFile.class);

  private MetricsFile() {}

  /** A parsed line: the row and the line's original text. */
  record Line(MetricsRow row, String text) {}

  /** Every readable row of {@code file} in file order; an absent file has none. */
  public static List<MetricsRow> read(Path file) {
    List<MetricsRow> rows = new ArrayList<>();
    for (Line line : lines(file)) {
      rows.add(line.row());
    }
    return rows;
  }

  /**
   * The text of the readable lines of {@code file} whose step is at most {@code lastStep}, in file order
   * (a checkpoint keeps the metrics of the iterations it covers); an absent file has none.
   */
  public static List<String> linesThrough(Path file, long lastStep) {
    List<String> out = new ArrayList<>();
    for (Line line : lines(file)) {
      if (line.row().step() <= lastStep) {
        out.add(line.text());
      }
    }
    return out;
  }

  /** The readable lines of {@code file} with their text, in file order. */
  static List<Line> lines(Path file) {
    if (!Files.exists(file)) {
      return List.of();
    }
    List<String> texts;
    try {
      texts = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read: " + e, e);
    }
    List<Line> out = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      String text = texts.get(i);
      if (text.isBlank()) {
        continue;
      }
      MetricsRow row = parse(text);
      if (row != null) {
        out.add(new Line(row, text));
      } else if (i < texts.size() - 1) {
        LOG.warn("{}:{}: ignoring a line that is not a JSON object with an integer \"step\"", file, i + 1);
      }
    }
    return out;
  }

  /** The row of one line, or null if it is not a JSON object with an integer step. */
  static MetricsRow parse(String text) {
    JsonNode node;
    try {
      node = MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      return null;
    }
    if (node == null || !node.isObject() || node.get("step") == null || !node.get("step").isIntegralNumber()) {
      return null;
    }
    Map<String, Double> values = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : node.properties()) {
      if (e.getKey().equals("step")) {
        continue;
      }
      if (e.getValue().isNumber()) {
        values.put(e.getKey(), e.getValue().doubleValue());
      } else if (e.getValue().isNull()) {
        values.put(e.getKey(), Double.NaN);
      }
    }
    return new MetricsRow(node.get("step").longValue(), values);
  }
}
