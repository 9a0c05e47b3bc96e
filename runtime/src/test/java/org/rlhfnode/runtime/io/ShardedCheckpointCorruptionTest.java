package org.rlhfnode.runtime.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken model directories and indexes give one-line errors naming the index or directory and the culprit. */
class ShardedCheckpointCorruptionTest {
  private static final String SHARD1 = "model-00001-of-00002.safetensors";
  private static final String SHARD2 = "model-00002-of-00002.safetensors";

  @TempDir Path tmp;
  private Path dir;
  private Path index;

  /** A writable copy of llama-sharded. */
  @BeforeEach
  void copyFixture() throws IOException {
    dir = tmp.resolve("llama-sharded");
    Files.createDirectory(dir);
    try (Stream<Path> files = Files.list(IoTestSupport.hfTiny().resolve("llama-sharded"))) {
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    index = dir.resolve("model.safetensors.index.json");
  }

  private ObjectNode indexJson() throws IOException {
    return (ObjectNode) IoTestSupport.readJson(index);
  }

  private ObjectNode weightMap(ObjectNode root) {
    return (ObjectNode) root.get("weight_map");
  }

  private void writeIndex(Object root) throws IOException {
    IoTestSupport.JSON.writeValue(index.toFile(), root);
  }

  private void assertRejected(Path file, String... fragments) {
    IoTestSupport.assertFormatError(file, () -> CheckpointWeights.open(dir).close(), fragments);
  }

  @Test
  void rejectsIndexThatIsNotJson() throws IOException {
    Files.writeString(index, "{\"weight_map\": {\"a\": ");
    assertRejected(index, "index is not valid JSON");
    Files.writeString(index, "[]");
    assertRejected(index, "index is not a JSON object");
  }

  @Test
  void rejectsIndexWithTheSameTensorListedTwice() throws IOException {
    Files.writeString(index, "{\"weight_map\": {\"lm_head.weight\": \"" + SHARD2 + "\", \"lm_head.weight\": \""
        + SHARD2 + "\"}}");
    assertRejected(index, "index is not valid JSON", "lm_head.weight");
  }

  @Test
  void rejectsIndexWithoutAWeightMapObject() throws IOException {
    ObjectNode root = indexJson();
    root.remove("weight_map");
    writeIndex(root);
    assertRejected(index, "missing \"weight_map\"");
    root.put("weight_map", "model.safetensors");
    writeIndex(root);
    assertRejected(index, "\"weight_map\" is not an object");
  }

  @Test
  void rejectsWeightMapValuesThatAreNotSiblingFileNames() throws IOException {
    ObjectNode root = indexJson();
    weightMap(root).put("lm_head.weight", 2);
    writeIndex(root);
    assertRejected(index, "tensor 'lm_head.weight'", "not a string");
    weightMap(root).put("lm_head.weight", "../llama/model.safetensors");
    writeIndex(root);
    assertRejected(index, "tensor 'lm_head.weight'", "'../llama/model.safetensors'", "not the name of a file");
  }

  @Test
  void rejectsAMissingShardNamingIt() throws IOException {
    Files.delete(dir.resolve(SHARD2));
    assertRejected(index, "shard file '" + SHARD2 + "'", "is missing", "lm_head.weight");
  }

  @Test
  void rejectsTensorAssignedToAShardThatDoesNotHoldIt() throws IOException {
    ObjectNode root = indexJson();
    weightMap(root).put("lm_head.weight", SHARD1);
    writeIndex(root);
    assertRejected(index, "tensor 'lm_head.weight'", "to shard '" + SHARD1 + "', which does not contain it",
        "it is in '" + SHARD2 + "'");
    weightMap(root).put("lm_head.weight", SHARD2);
    weightMap(root).put("model.ghost.weight", SHARD2);
    writeIndex(root);
    assertRejected(index, "tensor 'model.ghost.weight'", "does not contain it");
  }

  @Test
  void rejectsTheSameTensorInTwoShards() throws IOException {
    String extra = "model-extra.safetensors";
    SafetensorsWriter.write(dir.resolve(extra), List.of(
        IoTestSupport.randomPayload("lm_head.weight", DType.F32, new long[] {320, 64}, 1),
        IoTestSupport.randomPayload("extra.weight", DType.F32, new long[] {4}, 2)), Map.of());
    ObjectNode root = indexJson();
    weightMap(root).put("extra.weight", extra);
    writeIndex(root);
    assertRejected(index, "tensor 'lm_head.weight' is in two shards", SHARD2, extra);
  }

  @Test
  void rejectsACorruptShardNamingTheShard() throws IOException {
    Path shard = dir.resolve(SHARD1);
    Files.write(shard, new byte[] {1, 2, 3});
    assertRejected(shard, "shorter than the 8-byte header length");
  }

  @Test
  void rejectsDirectoriesWithoutWeights() throws IOException {
    Path empty = Files.createDirectory(tmp.resolve("empty"));
    IoTestSupport.assertFormatError(empty, () -> CheckpointWeights.open(empty),
        "no model.safetensors or model.safetensors.index.json");
    Path file = dir.resolve(SHARD1);
    IoTestSupport.assertFormatError(file, () -> CheckpointWeights.open(file), "not a directory");
  }

  @Test
  void shardFileNamesComeFromTheIndexAndUnlistedTensorsAreIgnored() throws IOException {
    Files.move(dir.resolve(SHARD2), dir.resolve("second part.safetensors"));
    ObjectNode root = indexJson();
    ObjectNode map = weightMap(root);
    map.properties().stream().filter(e -> e.getValue().asText().equals(SHARD2)).map(Map.Entry::getKey).toList()
        .forEach(name -> map.put(name, "second part.safetensors"));
    map.remove("model.norm.weight");
    writeIndex(root);
    try (CheckpointWeights w = CheckpointWeights.open(dir)) {
      assertEquals("second part.safetensors", w.fileOf("lm_head.weight").getFileName().toString());
      assertFalse(w.contains("model.norm.weight"));
      assertEquals(20, w.names().size());
    }
  }

  @Test
  void singleFileWinsOverAnIndexAsInTransformers() throws IOException {
    SafetensorsWriter.write(dir.resolve("model.safetensors"),
        List.of(IoTestSupport.randomPayload("only", DType.U8, new long[] {1}, 3)), Map.of());
    try (CheckpointWeights w = CheckpointWeights.open(dir)) {
      assertEquals(List.of("only"), List.copyOf(w.names()));
      assertTrue(w.contains("only"));
    }
  }
}
