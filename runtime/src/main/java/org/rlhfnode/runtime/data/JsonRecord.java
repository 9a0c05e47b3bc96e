package org.rlhfnode.runtime.data;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One JSON object read from a dataset file, with the file and line it came from. The typed
 * accessors check the value they read and throw {@link DataFormatException} ({@code file:line: what
 * is wrong}) naming the key and the option it was configured by.
 */
public final class JsonRecord {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final TypeReference<LinkedHashMap<String, Object>> MESSAGE = new TypeReference<>() {};

  private final Path file;
  private final int line;
  private final ObjectNode fields;

  /** A record at 1-based {@code line} of {@code file}; {@code fields} is copied. */
  public JsonRecord(Path file, int line, ObjectNode fields) {
    this.file = Objects.requireNonNull(file, "file");
    this.line = line;
    this.fields = Objects.requireNonNull(fields, "fields").deepCopy();
  }

  public Path file() {
    return file;
  }

  public int line() {
    return line;
  }

  /** {@code file:line}, as error messages start. */
  public String location() {
    return DataFormatException.location(file, line);
  }

  /** A copy of the object's fields. */
  public ObjectNode fields() {
    return fields.deepCopy();
  }

  /** An error about this record. */
  public DataFormatException error(String detail) {
    return new DataFormatException(file, line, detail);
  }

  /** An error about this record caused by {@code cause}. */
  public DataFormatException error(String detail, Throwable cause) {
    return new DataFormatException(file, line, detail, cause);
  }

  /** Whether {@code key} is present with a non-null value. */
  public boolean has(String key) {
    JsonNode v = fields.get(key);
    return v != null && !v.isNull();
  }

  /** Whether {@code key} holds a JSON array (a list of chat messages). */
  public boolean isList(String key) {
    JsonNode v = fields.get(key);
    return v != null && v.isArray();
  }

  /** A copy of this record with {@code key} set to {@code text}. */
  public JsonRecord withText(String key, String text) {
    ObjectNode copy = fields.deepCopy();
    copy.put(key, text);
    return new JsonRecord(file, line, copy);
  }

  /** The non-blank string under {@code key}; {@code option} names the setting that chose the key. */
  public String text(String key, String option) {
    JsonNode v = require(key, option);
    if (!v.isTextual()) {
      throw error(describe(key, option) + " must be a string, got " + kind(v));
    }
    if (v.asText().isBlank()) {
      throw error(describe(key, option) + " is empty");
    }
    return v.asText();
  }

  /**
   * Chat messages under {@code key}: a list of objects with a string {@code role} and string
   * {@code content} (other fields are kept for the template), or a bare string, which becomes one
   * message with {@code bareRole}.
   */
  public List<Map<String, Object>> messages(String key, String option, String bareRole) {
    JsonNode v = require(key, option);
    if (v.isTextual()) {
      return List.of(Map.of("role", bareRole, "content", text(key, option)));
    }
    if (!v.isArray()) {
      throw error(describe(key, option) + " must be a string or a list of chat messages, got " + kind(v));
    }
    if (v.isEmpty()) {
      throw error(describe(key, option) + " is an empty list of messages");
    }
    List<Map<String, Object>> messages = new ArrayList<>(v.size());
    for (int i = 0; i < v.size(); i++) {
      messages.add(message(v.get(i), i, describe(key, option)));
    }
    return List.copyOf(messages);
  }

  private Map<String, Object> message(JsonNode m, int index, String where) {
    String what = "message " + index + " of " + where;
    if (!m.isObject()) {
      throw error(what + " must be an object with 'role' and 'content', got " + kind(m));
    }
    JsonNode role = m.get("role");
    if (role == null || !role.isTextual() || role.asText().isBlank()) {
      throw error(what + " has no string 'role'");
    }
    JsonNode content = m.get("content");
    if (content == null || !content.isTextual()) {
      throw error(what + " has no string 'content'");
    }
    return MAPPER.convertValue(m, MESSAGE);
  }

  /** The number under {@code key}, or 0 when it is absent or null (the optional margin). */
  public double numberOrZero(String key, String option) {
    if (!has(key)) {
      return 0.0;
    }
    JsonNode v = fields.get(key);
    if (!v.isNumber() || !Double.isFinite(v.asDouble())) {
      throw error(describe(key, option) + " must be a finite number, got " + kind(v));
    }
    return v.asDouble();
  }

  /** A yes/no label: JSON true/false, or the integers 1/0. */
  public boolean label(String key, String option) {
    JsonNode v = require(key, option);
    if (v.isBoolean()) {
      return v.asBoolean();
    }
    if (v.isIntegralNumber() && (v.asLong() == 0 || v.asLong() == 1)) {
      return v.asLong() == 1;
    }
    throw error(describe(key, option) + " must be true/false (or 1/0), got " + kind(v));
  }

  /** The value under {@code key} as text: a string as is, anything else as JSON; "" when absent. */
  public String textOrJson(String key) {
    if (!has(key)) {
      return "";
    }
    JsonNode v = fields.get(key);
    return v.isTextual() ? v.asText() : v.toString();
  }

  private JsonNode require(String key, String option) {
    JsonNode v = fields.get(key);
    if (v == null) {
      throw error("missing key '" + key + "' (" + option + ")");
    }
    if (v.isNull()) {
      throw error(describe(key, option) + " is null");
    }
    return v;
  }

  private static String describe(String key, String option) {
    return option + " '" + key + "'";
  }

  private static String kind(JsonNode v) {
    if (v.isTextual()) {
      return "string";
    }
    if (v.isContainerNode()) {
      return v.isArray() ? "array" : "object";
    }
    return v.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " " + v;
  }

  @Override
  public String toString() {
    return location() + " " + fields;
  }
}
