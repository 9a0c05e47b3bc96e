package org.rlhfnode.runtime.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * {@code model.safetensors.index.json}, as HuggingFace {@code save_pretrained} writes it:
 * {@code {"metadata": {"total_size": N}, "weight_map": {tensor: shard file}}}.
 *
 * @param weightMap tensor name to shard file name (a plain name inside the model directory), sorted by tensor name
 */
record ShardIndex(SortedMap<String, String> weightMap) {
  static final String FILE_NAME = "model.safetensors.index.json";

  /**
   * Reads and checks an index file; {@code metadata} is not needed to load and is not checked.
   *
   * @throws CheckpointFormatException if it is not JSON, has no {@code weight_map} object, or a
   *     value of it is not the plain name of a file in the same directory
   */
  static ShardIndex read(Path indexFile) {
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(Files.readAllBytes(indexFile));
    } catch (JsonProcessingException e) {
      throw new CheckpointFormatException(indexFile, "index is not valid JSON: " + Json.describe(e), e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + indexFile + ": " + e, e);
    }
    if (root == null || !root.isObject()) {
      throw new CheckpointFormatException(indexFile, "index is not a JSON object");
    }
    JsonNode map = root.get("weight_map");
    if (map == null) {
      throw new CheckpointFormatException(indexFile, "missing \"weight_map\"");
    }
    if (!map.isObject()) {
      throw new CheckpointFormatException(indexFile, "\"weight_map\" is not an object");
    }
    SortedMap<String, String> weightMap = new TreeMap<>();
    for (Map.Entry<String, JsonNode> e : map.properties()) {
      weightMap.put(e.getKey(), shardName(indexFile, e.getKey(), e.getValue()));
    }
    return new ShardIndex(Collections.unmodifiableSortedMap(weightMap));
  }

  // A shard must be a sibling of the index: an entry like "../x" must not reach outside the model directory.
  private static String shardName(Path indexFile, String tensor, JsonNode value) {
    if (!value.isTextual()) {
      throw new CheckpointFormatException(indexFile, "weight_map entry for tensor '" + tensor + "' is not a string");
    }
    String name = value.textValue();
    if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\\")) {
      throw new CheckpointFormatException(indexFile, "weight_map entry for tensor '" + tensor + "' is '" + name
          + "', not the name of a file beside the index");
    }
    return name;
  }

  /**
   * The index file's text in the layout of {@code json.dumps(index, indent=2, sort_keys=True) + "\n"},
   * which {@code save_pretrained} uses, so a re-save of an HF checkpoint gives the same bytes.
   *
   * @param totalSize bytes of tensor data over all shards
   */
  static String format(long totalSize, SortedMap<String, String> weightMap) {
    StringBuilder s = new StringBuilder();
    s.append("{\n  \"metadata\": {\n    \"total_size\": ").append(totalSize).append("\n  },\n");
    s.append("  \"weight_map\": {");
    String separator = "\n";
    for (Map.Entry<String, String> e : weightMap.entrySet()) {
      s.append(separator).append("    ").append(Json.quote(e.getKey())).append(": ").append(Json.quote(e.getValue()));
      separator = ",\n";
    }
    s.append(weightMap.isEmpty() ? "}" : "\n  }").append("\n}\n");
    return s.toString();
  }
}
