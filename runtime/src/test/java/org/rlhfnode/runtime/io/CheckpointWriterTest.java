package org.rlhfnode.runtime.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Saving model directories as one file or as HF-style shards, and re-saving over an earlier save. */
class CheckpointWriterTest {
  private static final String INDEX = "model.safetensors.index.json";

  @TempDir Path tmp;

  private static Path fixture(String name) {
    return IoTestSupport.hfTiny().resolve(name);
  }

  /** The llama fixture's tensors, in its header order. */
  private static List<TensorPayload> llamaTensors() {
    try (SafetensorsFile f = SafetensorsFile.open(fixture("llama").resolve("model.safetensors"))) {
      return IoTestSupport.payloads(f);
    }
  }

  private static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static void assertSameWeights(List<TensorPayload> expected, Path dir) throws IOException {
    try (CheckpointWeights w = CheckpointWeights.open(dir)) {
      assertEquals(expected.size(), w.names().size());
      for (TensorPayload t : expected) {
        assertEquals(t.dtype(), w.info(t.name()).dtype(), t.name());
        assertArrayEquals(t.shape(), w.info(t.name()).shape(), t.name());
        assertEquals(IoTestSupport.bytesOf(t), w.data(t.name()), t.name());
      }
    }
  }

  @Test
  void smallLimitGivesGreedyShardsAndAnIndexThatReadBackIdentically() throws IOException {
    List<TensorPayload> tensors = llamaTensors();
    long limit = 100_000;
    CheckpointWriter.write(tmp, tensors, limit);
    List<List<String>> expectedShards = greedy(tensors, limit);
    int n = expectedShards.size();
    assertTrue(n > 2, "the llama weights (533,760 bytes) need several 100 kB shards");
    List<String> files = listing(tmp);
    assertTrue(files.contains(INDEX) && !files.contains("model.safetensors"), files.toString());
    assertEquals(n + 1, files.size(), files.toString());
    try (CheckpointWeights w = CheckpointWeights.open(tmp)) {
      for (int i = 0; i < n; i++) {
        String shard = String.format("model-%05d-of-%05d.safetensors", i + 1, n);
        for (String name : expectedShards.get(i)) {
          assertEquals(shard, w.fileOf(name).getFileName().toString(), name);
        }
      }
    }
    assertSameWeights(tensors, tmp);
    assertTrue(Files.readString(tmp.resolve(INDEX)).contains("\"total_size\": 533760"));
  }

  @Test
  void tensorLargerThanTheLimitGetsAShardOfItsOwn() throws IOException {
    List<TensorPayload> tensors = llamaTensors();
    CheckpointWriter.write(tmp, tensors, 50_000);
    try (CheckpointWeights w = CheckpointWeights.open(tmp)) {
      Path lmHead = w.fileOf("lm_head.weight");
      Path embed = w.fileOf("model.embed_tokens.weight");
      assertFalse(lmHead.equals(embed));
      try (SafetensorsFile f = SafetensorsFile.open(lmHead)) {
        assertEquals(List.of("lm_head.weight"), f.tensors().stream().map(TensorInfo::name).toList());
      }
      try (SafetensorsFile f = SafetensorsFile.open(embed)) {
        assertEquals(List.of("model.embed_tokens.weight"), f.tensors().stream().map(TensorInfo::name).toList());
      }
    }
    assertSameWeights(tensors, tmp);
  }

  @Test
  void resavingWithALargerLimitLeavesNoStaleShards() throws IOException {
    List<TensorPayload> tensors = llamaTensors();
    Files.writeString(tmp.resolve("config.json"), "{}");
    Files.writeString(tmp.resolve("model-ema.safetensors"), "not ours");
    CheckpointWriter.write(tmp, tensors, 100_000);
    CheckpointWriter.write(tmp, tensors, 300_000);
    assertEquals(List.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model-ema.safetensors", INDEX), listing(tmp));
    assertSameWeights(tensors, tmp);
    CheckpointWriter.write(tmp, tensors, 1L << 30);
    assertEquals(List.of("config.json", "model-ema.safetensors", "model.safetensors"), listing(tmp));
    assertSameWeights(tensors, tmp);
  }

  @Test
  void shardingASingleFileSaveRemovesTheOldFile() throws IOException {
    List<TensorPayload> tensors = llamaTensors();
    CheckpointWriter.write(tmp, tensors, 1L << 30);
    CheckpointWriter.write(tmp, tensors, 300_000);
    assertFalse(Files.exists(tmp.resolve("model.safetensors")), "model.safetensors would shadow the shards");
    assertSameWeights(tensors, tmp);
  }

  /**
   * save_pretrained filled shard 1 in module order; feeding the tensors in the fixture's shard order
   * with a limit of shard 1's data size must reproduce all three files exactly.
   */
  @Test
  void reproducesTheHfShardedFixtureByteForByte() throws IOException {
    Path sharded = fixture("llama-sharded");
    List<TensorPayload> ordered = new ArrayList<>();
    long firstShardBytes = 0;
    for (String shard : List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")) {
      try (SafetensorsFile f = SafetensorsFile.open(sharded.resolve(shard))) {
        ordered.addAll(IoTestSupport.payloads(f));
        if (firstShardBytes == 0) {
          firstShardBytes = f.tensors().stream().mapToLong(TensorInfo::byteLength).sum();
        }
      }
    }
    CheckpointWriter.write(tmp, ordered, firstShardBytes);
    for (String file : List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", INDEX)) {
      assertEquals(-1L, Files.mismatch(sharded.resolve(file), tmp.resolve(file)), file);
    }
    assertEquals(3, listing(tmp).size());
  }

  @Test
  void invalidInputWritesNothing() throws IOException {
    List<TensorPayload> tensors = new ArrayList<>(llamaTensors());
    assertThrows(IllegalArgumentException.class, () -> CheckpointWriter.write(tmp, tensors, 0));
    tensors.add(tensors.get(0));
    assertThrows(IllegalArgumentException.class, () -> CheckpointWriter.write(tmp, tensors, 100_000));
    assertEquals(List.of(), listing(tmp));
  }

  @Test
  void emptyTensorListGivesAnEmptySingleFile() throws IOException {
    Path dir = tmp.resolve("new").resolve("model");
    CheckpointWriter.write(dir, List.of(), 10);
    try (CheckpointWeights w = CheckpointWeights.open(dir)) {
      assertTrue(w.names().isEmpty());
    }
  }

  /** The expected greedy split, computed independently of the writer. */
  private static List<List<String>> greedy(List<TensorPayload> tensors, long limit) {
    Map<Integer, List<String>> shards = new TreeMap<>();
    int shard = 0;
    long used = 0;
    for (TensorPayload t : tensors) {
      if (used > 0 && used + t.byteLength() > limit) {
        shard++;
        used = 0;
      }
      shards.computeIfAbsent(shard, k -> new ArrayList<>()).add(t.name());
      used += t.byteLength();
    }
    return List.copyOf(shards.values());
  }
}
