package org.rlhfnode.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.Fixtures;

class ModelConfigTest {
  private static final String BASE = "{\"model_type\":\"llama\",\"vocab_size\":100,\"hidden_size\":32,"
      + "\"intermediate_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4";

  private static ModelConfig parse(String extra) {
    return ModelConfig.parse(BASE + extra + "}");
  }

  @Test
  void readsEveryFixtureFamilyWithItsFlags() {
    ModelConfig qwen = ModelConfig.load(Fixtures.hfTiny("qwen2"));
    assertEquals(ModelFamily.QWEN2, qwen.family());
    assertTrue(qwen.qkvBias() && !qwen.outputBias() && qwen.tieWordEmbeddings());
    assertEquals(1e6, qwen.ropeTheta());
    ModelConfig mistral = ModelConfig.load(Fixtures.hfTiny("mistral"));
    assertEquals(16, mistral.slidingWindow());
    ModelConfig mixtral = ModelConfig.load(Fixtures.hfTiny("mixtral"));
    assertEquals(4, mixtral.numExperts());
    assertEquals(2, mixtral.numExpertsPerTok());
    ModelConfig llama3 = ModelConfig.load(Fixtures.hfTiny("llama3-rope"));
    assertEquals(RopeScaling.Type.LLAMA3, llama3.ropeScaling().type());
    assertEquals(64, llama3.ropeScaling().originalMaxPositions());
    assertEquals(RopeScaling.Type.LINEAR, ModelConfig.load(Fixtures.hfTiny("llama-rope-scaled")).ropeScaling().type());
    assertEquals(List.of(2L), mistral.eosTokenIds());
  }

  @Test
  void llama3ScalingKeepsOneDividesFiveAndInterpolatesTwo() {
    // README of hf-tiny: head_dim 16, theta 1e4 → of 8 frequencies 1 kept, 2 smoothed, 5 divided
    ModelConfig c = ModelConfig.load(Fixtures.hfTiny("llama3-rope"));
    ModelConfig plain = parse(",\"head_dim\":16,\"rope_theta\":10000.0");
    float[] scaled = Rope.inverseFrequencies(c);
    float[] base = Rope.inverseFrequencies(plain);
    int kept = 0;
    int divided = 0;
    int smoothed = 0;
    for (int i = 0; i < base.length; i++) {
      double ratio = base[i] / scaled[i];
      if (Math.abs(ratio - 1) < 1e-6) {
        kept++;
      } else if (Math.abs(ratio - 8) < 1e-5) {
        divided++;
      } else {
        smoothed++;
      }
    }
    assertEquals(List.of(1, 2, 5), List.of(kept, smoothed, divided));
  }

  @Test
  void unsupportedModelTypeNamesItAndListsSupported() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ModelConfig.parse(BASE.replace("llama", "gpt2") + "}"));
    assertTrue(e.getMessage().contains("'gpt2'") && e.getMessage().contains("llama, qwen2, mistral, mixtral"),
        e.getMessage());
  }

  @Test
  void unsupportedValuesNameTheirKey() {
    assertEquals("hidden_act", assertThrows(ConfigException.class, () -> parse(",\"hidden_act\":\"gelu\"")).key());
    assertEquals("rope_scaling.rope_type",
        assertThrows(ConfigException.class, () -> parse(",\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}")).key());
    assertEquals("num_key_value_heads",
        assertThrows(ConfigException.class, () -> parse(",\"num_key_value_heads\":3")).key());
    assertEquals("vocab_size", assertThrows(ConfigException.class,
        () -> ModelConfig.parse(BASE.replace("\"vocab_size\":100,", "") + "}")).key());
    assertEquals("eos_token_id", assertThrows(ConfigException.class, () -> parse(",\"eos_token_id\":100")).key());
    assertEquals("mlp_bias", assertThrows(ConfigException.class, () -> parse(",\"mlp_bias\":true")).key());
    assertEquals("hidden_size",
        assertThrows(ConfigException.class, () -> ModelConfig.parse(BASE.replace("32,", "\"wide\",") + "}")).key());
  }

  @Test
  void missingAndCorruptFilesNameTheFile(@TempDir Path dir) throws Exception {
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(dir));
    assertTrue(missing.getMessage().contains("config.json"), missing.getMessage());
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": ");
    IllegalArgumentException corrupt = assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(dir));
    assertTrue(corrupt.getMessage().startsWith(dir.resolve("config.json").toString()), corrupt.getMessage());
  }

  @Test
  void generationConfigEosIdsJoinTheConfigOnes(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("config.json"), BASE + ",\"eos_token_id\":2}");
    assertEquals(List.of(2L), ModelConfig.load(dir).eosTokenIds());
    Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [7, 2]}");
    assertEquals(List.of(2L, 7L), ModelConfig.load(dir).eosTokenIds(), "end-of-turn ids HF's generate stops on");
  }

  @Test
  void writtenJsonParsesBackToTheSameConfig() {
    for (String f : List.of("llama", "qwen2", "mistral", "mixtral", "llama3-rope", "llama-rope-scaled")) {
      ModelConfig c = ModelConfig.load(Fixtures.hfTiny(f));
      ModelConfig back = ModelConfig.parse(c.toJson("float32"));
      assertEquals(c, back, f);
    }
    assertNull(parse(",\"eos_token_id\":[2,3]").bosTokenId());
    assertEquals(List.of(2L, 3L), parse(",\"eos_token_id\":[2,3]").eosTokenIds());
  }

  @Test
  void parameterCountMatchesTheFixtureCheckpoints() {
    for (String f : List.of("llama", "qwen2", "mixtral")) {
      long expected = Fixtures.json(Fixtures.hfTiny(f).resolve("expected.json")).get("weights")
          .get("num_parameters").asLong();
      assertEquals(expected, ModelConfig.load(Fixtures.hfTiny(f)).parameterCount(), f);
    }
  }
}
