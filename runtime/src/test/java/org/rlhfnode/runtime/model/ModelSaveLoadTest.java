package org.rlhfnode.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.tensor.DeviceSpec;

class ModelSaveLoadTest {

  @Test
  void savedModelReloadsBitIdenticallyAcrossShards(@TempDir Path dir) throws Exception {
    try (CausalLm original = HfParityTest.load("mixtral")) {
      ModelSaver.save(original, dir, DType.F32, 200_000);
      try (Stream<Path> files = Files.list(dir)) {
        assertTrue(files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).count() > 2);
      }
      assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")));
      try (CausalLm reloaded = ModelLoader.load(dir, DeviceSpec.CPU, ScalarType.Float)) {
        assertEquals(original.config(), reloaded.config());
        assertSameTensors(original.parameters(), reloaded.parameters());
      }
    }
  }

  @Test
  void bf16SaveRoundsToNearestEvenLikeTheBf16Fixture(@TempDir Path dir) {
    try (CausalLm llama = HfParityTest.load("llama");
        CausalLm bf16Fixture = ModelLoader.load(Fixtures.hfTiny("llama-bf16"), DeviceSpec.CPU, ScalarType.BFloat16)) {
      ModelSaver.save(llama, dir, DType.BF16, ModelSaver.DEFAULT_SHARD_BYTES);
      assertTrue(ModelConfig.load(dir).torchDtype().equals("bfloat16"));
      try (CausalLm saved = ModelLoader.load(dir, DeviceSpec.CPU, ScalarType.BFloat16)) {
        assertEquals(ScalarType.BFloat16, saved.dtype());
        assertSameTensors(bf16Fixture.parameters(), saved.parameters());
      }
    }
  }

  @Test
  void tiedEmbeddingsAreSavedOnce(@TempDir Path dir) {
    try (CausalLm qwen = HfParityTest.load("qwen2")) {
      ModelSaver.save(qwen, dir, DType.F32, ModelSaver.DEFAULT_SHARD_BYTES);
      try (org.rlhfnode.runtime.io.CheckpointWeights w = org.rlhfnode.runtime.io.CheckpointWeights.open(dir)) {
        assertFalse(w.contains(ParameterLayout.LM_HEAD));
        assertTrue(w.contains("model.layers.0.self_attn.q_proj.bias"));
      }
    }
  }

  @Test
  void checkpointThatDisagreesWithConfigNamesTheTensor(@TempDir Path dir) throws Exception {
    copyFixture("llama", dir);
    String config = Files.readString(dir.resolve("config.json")).replace("\"intermediate_size\": 176", "\"intermediate_size\": 128");
    Files.writeString(dir.resolve("config.json"), config);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ModelLoader.load(dir, DeviceSpec.CPU, ScalarType.Float));
    assertTrue(e.getMessage().contains("model.layers.0.mlp") && e.getMessage().contains("model.safetensors"), e.getMessage());

    copyFixture("qwen2", dir);
    Files.writeString(dir.resolve("config.json"),
        Files.readString(dir.resolve("config.json")).replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false"));
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> ModelLoader.load(dir, DeviceSpec.CPU, ScalarType.Float));
    assertTrue(missing.getMessage().contains("lm_head.weight"), missing.getMessage());
  }

  @Test
  void randomInitIsDeterministicPerSeedAndHasAScoreHead() {
    ModelConfig c = ModelConfig.load(Fixtures.hfTiny("llama"));
    try (CausalLm a = ModelInit.random(c, 7, 0.02, ScalarType.Float, DeviceSpec.CPU, true);
        CausalLm b = ModelInit.random(c, 7, 0.02, ScalarType.Float, DeviceSpec.CPU, true);
        CausalLm other = ModelInit.random(c, 8, 0.02, ScalarType.Float, DeviceSpec.CPU, false);
        PointerScope s = new PointerScope()) {
      assertSameTensors(a.parameters(), b.parameters());
      assertTrue(a.hasScoreHead() && !other.hasScoreHead());
      Tensor w = a.parameters().get(ParameterLayout.EMBED);
      assertFalse(torch.equal(w, other.parameters().get(ParameterLayout.EMBED)));
      assertEquals(0.02, w.std().item_float(), 0.002);
      assertEquals(1.0, a.parameters().get("model.norm.weight").mean().item_float(), 0.0);
    }
  }

  private static void copyFixture(String name, Path dir) throws Exception {
    try (Stream<Path> files = Files.list(Fixtures.hfTiny(name))) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path target = dir.resolve(p.getFileName());
        Files.copy(p, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        target.toFile().setWritable(true);
      }
    }
  }

  static void assertSameTensors(Map<String, Tensor> expected, Map<String, Tensor> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    try (PointerScope s = new PointerScope()) {
      for (String name : expected.keySet()) {
        assertTrue(torch.equal(expected.get(name), actual.get(name)), name + " differs");
      }
    }
  }
}
