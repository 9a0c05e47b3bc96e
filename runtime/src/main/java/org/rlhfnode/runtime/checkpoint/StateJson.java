package org.rlhfnode.runtime.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import org.rlhfnode.runtime.io.CheckpointFormatException;

/**
 * {@code training_state.json}: a {@link TrainingState} as pretty-printed JSON (the generator state as
 * base64), and the strict JSON settings the checkpoint files share.
 */
final class StateJson {
  /** Integers read back as {@link Long} (as {@link JsonValues} stores them); duplicate keys rejected. */
  static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.USE_LONG_FOR_INTS)
      .enable(SerializationFeature.INDENT_OUTPUT);
  static final String FILE_NAME = "training_state.json";
  static final int FORMAT_VERSION = 1;
  private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {};
  private static final TypeReference<LinkedHashMap<String, Long>> LONGS = new TypeReference<>() {};

  private StateJson() {}

  /** The JSON bytes of {@code state}. */
  static byte[] toBytes(TrainingState state) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("format_version", FORMAT_VERSION);
    root.put("step", state.step());
    root.put("epoch", state.epoch());
    root.put("scheduler_step", state.schedulerStep());
    root.set("data_cursor", MAPPER.valueToTree(state.dataCursor()));
    ObjectNode rng = root.putObject("rng");
    rng.put("seed", state.rng().seed());
    rng.set("counters", MAPPER.valueToTree(state.rng().counters()));
    byte[] gen = state.rng().generatorState();
    rng.put("generator_state", gen == null ? null : Base64.getEncoder().encodeToString(gen));
    root.set("metadata", MAPPER.valueToTree(state.metadata()));
    try {
      return MAPPER.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode training state: " + e.getOriginalMessage(), e);
    }
  }

  /**
   * Reads {@code file}.
   *
   * @throws CheckpointFormatException naming the file and the missing or malformed field
   */
  static TrainingState read(Path file) {
    JsonNode root = readTree(file);
    int version = required(file, root, "format_version").asInt();
    if (version != FORMAT_VERSION) {
      throw new CheckpointFormatException(file, "format_version " + version + " is not supported (expected "
          + FORMAT_VERSION + ")");
    }
    try {
      JsonNode rng = required(file, root, "rng");
      JsonNode gen = rng.get("generator_state");
      RngState rngState = new RngState(required(file, rng, "seed").longValue(),
          MAPPER.convertValue(required(file, rng, "counters"), LONGS),
          gen == null || gen.isNull() ? null : Base64.getDecoder().decode(gen.asText()));
      return new TrainingState(integer(file, root, "step"), integer(file, root, "epoch"),
          MAPPER.convertValue(required(file, root, "data_cursor"), MAP), rngState,
          integer(file, root, "scheduler_step"), MAPPER.convertValue(required(file, root, "metadata"), MAP));
    } catch (IllegalArgumentException e) {
      throw new CheckpointFormatException(file, "invalid training state: " + e.getMessage(), e);
    }
  }

  /** Parses a JSON file into a tree; errors name the file. */
  static JsonNode readTree(Path file) {
    try {
      return MAPPER.readTree(Files.readAllBytes(file));
    } catch (JsonProcessingException e) {
      throw new CheckpointFormatException(file, "malformed JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read: " + e, e);
    }
  }

  static JsonNode required(Path file, JsonNode parent, String field) {
    JsonNode n = parent == null ? null : parent.get(field);
    if (n == null || n.isNull()) {
      throw new CheckpointFormatException(file, "missing field '" + field + "'");
    }
    return n;
  }

  static long integer(Path file, JsonNode parent, String field) {
    JsonNode n = required(file, parent, field);
    if (!n.isIntegralNumber()) {
      throw new CheckpointFormatException(file, "field '" + field + "' must be an integer, got " + n);
    }
    return n.longValue();
  }
}
