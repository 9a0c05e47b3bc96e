package org.rlhfnode.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;
import org.rlhfnode.runtime.generate.SamplingParams;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.transport.RankGroup;

/**
 * Tensor-parallel inference (Megatron layout over Gloo rank threads) against the whole model on the
 * same weights: logits equal to rounding (float64: the same float32 logits; float32: within 2e-5), the
 * same 16-token greedy continuation, the same sampled tokens on every rank, each rank holding about
 * 1/N of the weights, and a clear error for configs that do not split.
 */
class TensorParallelTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  /**
   * float32: a row-parallel projection sums its input in N pieces, a different order than one matmul.
   * With these fixtures' large weights (std 0.2) that reordering noise is ~1e-5 in the logits (the
   * whole model differs from transformers' own fp32 logits by 1.0–1.1e-5 for the same reason), so
   * 2e-5; the float64 test shows the gap is rounding alone.
   */
  private static final double TOL = 2e-5;
  /** float64 compute, logits compared after rounding to float32: at most one float32 ulp apart. */
  private static final double TOL_F64 = 1e-6;
  private static final int NEW_TOKENS = 16;

  /** What one rank (or the whole model) computed. */
  record Outputs(float[] logits, List<long[]> greedy, List<long[]> sampled, long parameterElements) {}

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "mistral", "mixtral", "llama-sharded", "llama-bf16"})
  void shardedFixturesMatchTheWholeModel(String fixture) {
    Path dir = Fixtures.hfTiny(fixture);
    ModelConfig config = ModelConfig.load(dir);
    Outputs whole = run(dir, null, ScalarType.Float);
    for (int n : new int[] {2, 4}) {
      assertMatchesWhole(fixture, dir, config, n, whole);
    }
  }

  @ParameterizedTest
  @CsvSource({
      "333, 8, 2, false", // vocab % N != 0, untied; tp 4 replicates each of the 2 KV heads on 2 ranks
      "333, 8, 1, true", // one KV head (MQA) replicated on every rank; tied embedding with padded rows
  })
  void randomModelsWithAnUnevenVocabularyMatchTheWholeModel(int vocab, int heads, int kvHeads, boolean tied,
      @TempDir Path tmp) {
    ModelConfig config = new ModelConfig(ModelFamily.LLAMA, vocab, 64, 128, 2, heads, kvHeads, 64 / heads, 1e-5,
        1e4, null, 256, tied, true, true, 0, 0, 0, 1L, List.of(2L), null, "float32");
    Path dir = tmp.resolve("model");
    writeRandom(config, dir);
    Outputs whole = run(dir, null, ScalarType.Float);
    for (int n : new int[] {2, 4}) {
      assertMatchesWhole("random " + vocab + "/" + heads + "/" + kvHeads, dir, config, n, whole);
    }
  }

  @Test
  void configsThatDoNotSplitAreRefusedNamingTheKeyAndTp(@TempDir Path tmp) throws Exception {
    ConfigException heads = assertThrows(ConfigException.class, () -> RankGroup.run(3, TIMEOUT, "tp",
        c -> loadAfterBarrier(c, Fixtures.hfTiny("llama"), DeviceSpec.CPU, ScalarType.Float, TensorParallel.over(c))));
    assertTrue(heads.getMessage().contains("num_attention_heads (4)") && heads.getMessage().contains("--tp 3"),
        heads.getMessage());
    Path kv = configOnly(tmp.resolve("kv"), 48, 6, 2, 96); // 2 KV heads and tp 3: neither divides the other
    ConfigException kvError = assertThrows(ConfigException.class, () -> RankGroup.run(3, TIMEOUT, "tp",
        c -> loadAfterBarrier(c, kv, DeviceSpec.CPU, ScalarType.Float, TensorParallel.over(c))));
    assertTrue(kvError.getMessage().contains("num_key_value_heads (2)") && kvError.getMessage().contains("--tp 3"),
        kvError.getMessage());
    Path mlp = configOnly(tmp.resolve("mlp"), 64, 4, 2, 90);
    ConfigException mlpError = assertThrows(ConfigException.class, () -> RankGroup.run(4, TIMEOUT, "tp",
        c -> loadAfterBarrier(c, mlp, DeviceSpec.CPU, ScalarType.Float, TensorParallel.over(c))));
    assertTrue(mlpError.getMessage().contains("intermediate_size (90)") && mlpError.getMessage().contains("--tp 4"),
        mlpError.getMessage());
  }

  @Test
  void adaptersCannotAttachToASlice() {
    List<String> errors = RankGroup.run(2, TIMEOUT, "tp", c -> {
      try (CausalLm model = ModelLoader.load(Fixtures.hfTiny("llama"), DeviceSpec.CPU, ScalarType.Float,
          TensorParallel.over(c))) {
        Linear q = model.linears().get("model.layers.0.self_attn.q_proj");
        return assertThrows(IllegalStateException.class, () -> q.attach((x, base) -> base)).getMessage();
      }
    });
    assertTrue(errors.get(1).contains("tensor-parallel"), errors.get(1));
  }

  @Test
  void aGroupOfOneIsTheWholeModel() {
    try (CausalLm model = ModelLoader.load(Fixtures.hfTiny("llama"), DeviceSpec.CPU, ScalarType.Float,
        TensorParallel.over(Collectives.single()))) {
      assertNull(model.tensorParallel());
      assertEquals(model.config().parameterCount(), elements(model));
    }
  }

  /** In float64 the reordered sums agree far below float32 resolution: the logits round to the same floats. */
  @ParameterizedTest
  @ValueSource(strings = {"qwen2", "mistral", "mixtral"})
  void float64ShardsGiveTheWholeModelsLogits(String fixture) {
    Path dir = Fixtures.hfTiny(fixture);
    Outputs whole = run(dir, null, ScalarType.Double);
    for (int n : new int[] {2, 4}) {
      List<Outputs> ranks = RankGroup.run(n, TIMEOUT, "tp", c -> run(dir, TensorParallel.over(c), ScalarType.Double));
      double diff = Fixtures.maxAbsDiff(ranks.get(0).logits(), whole.logits());
      assertTrue(diff <= TOL_F64, fixture + " tp " + n + " float64: logits differ from tp 1 by " + diff);
      assertSameTokens(whole.greedy(), ranks.get(0).greedy(), fixture + " tp " + n + " float64 greedy");
    }
  }

  @Test
  void bfloat16RanksAgreeAndStayCloseToTheWholeModel() {
    Path dir = Fixtures.hfTiny("llama-bf16");
    List<Outputs> ranks = RankGroup.run(2, TIMEOUT, "tp", c -> run(dir, TensorParallel.over(c), ScalarType.BFloat16));
    Outputs whole = run(dir, null, ScalarType.BFloat16);
    assertSameTokens(ranks.get(0).greedy(), ranks.get(1).greedy(), "bf16 greedy, rank 1 vs 0");
    assertArrayEquals(ranks.get(0).logits(), ranks.get(1).logits(), 0f, "bf16 logits, rank 1 vs 0");
    double diff = Fixtures.maxAbsDiff(ranks.get(0).logits(), whole.logits());
    assertTrue(diff < 0.25, "bf16 tp 2 logits differ from tp 1 by " + diff);
  }

  private static void assertMatchesWhole(String what, Path dir, ModelConfig config, int n, Outputs whole) {
    List<Outputs> ranks = RankGroup.run(n, TIMEOUT, "tp", c -> run(dir, TensorParallel.over(c), ScalarType.Float));
    for (int r = 0; r < n; r++) {
      Outputs o = ranks.get(r);
      String at = what + " tp " + n + " rank " + r;
      double diff = Fixtures.maxAbsDiff(o.logits(), whole.logits());
      assertTrue(diff <= TOL, at + ": logits differ from tp 1 by " + diff);
      assertSameTokens(whole.greedy(), o.greedy(), at + " greedy");
      assertSameTokens(ranks.get(0).sampled(), o.sampled(), at + " sampled, against rank 0");
      assertEquals(expectedElements(config, n), o.parameterElements(), at + ": parameters held");
    }
    long sharded = ranks.get(0).parameterElements();
    long bound = whole.parameterElements() / n + replicated(config) + kvReplicationExtra(config, n)
        + 2L * config.hiddenSize(); // at most one padding row of embedding and lm_head
    assertTrue(sharded <= bound, what + " tp " + n + ": " + sharded + " of " + whole.parameterElements());
  }

  private static void assertSameTokens(List<long[]> want, List<long[]> got, String what) {
    for (int i = 0; i < want.size(); i++) {
      assertArrayEquals(want.get(i), got.get(i), what + ", sequence " + i);
    }
  }

  /** Padded-batch logits, greedy and sampled continuations of two prompts, and the weights held. */
  private static Outputs run(Path dir, TensorParallel tp, ScalarType dtype) {
    try (CausalLm model = ModelLoader.load(dir, DeviceSpec.CPU, dtype, tp); PointerScope s = new PointerScope();
        InferenceMode g = new InferenceMode()) {
      long[][] prompts = prompts(model.config().vocabSize());
      int width = prompts[0].length;
      long[] ids = new long[2 * width];
      long[] mask = new long[2 * width];
      for (int row = 0; row < 2; row++) {
        int pad = width - prompts[row].length;
        for (int j = 0; j < prompts[row].length; j++) {
          ids[row * width + pad + j] = prompts[row][j];
          mask[row * width + pad + j] = 1;
        }
      }
      Tensor logits = model.forward(Tensors.longs(ids, 2, width), Tensors.longs(mask, 2, width)); // [2, W, V]
      GenerationEngine engine = new GenerationEngine(model);
      List<long[]> greedy = tokens(engine, prompts, new SamplingParams(NEW_TOKENS, true, 1.0, 0, 1.0, 0, null, true));
      List<long[]> sampled = tokens(engine, prompts, new SamplingParams(NEW_TOKENS, false, 1.0, 0, 1.0, 7, null, true));
      return new Outputs(Tensors.toFloats(logits.to(ScalarType.Float)), greedy, sampled, elements(model));
    }
  }

  private static List<long[]> tokens(GenerationEngine engine, long[][] prompts, SamplingParams params) {
    List<GenerationRequest> requests = new ArrayList<>();
    for (long[] p : prompts) {
      requests.add(new GenerationRequest(p, params));
    }
    List<long[]> out = new ArrayList<>();
    for (GenerationResult r : engine.generate(requests)) {
      out.add(r.newTokens());
    }
    return out;
  }

  /** Two prompts (24 and 13 tokens, the shorter left-padded in the batch) starting with BOS 1. */
  private static long[][] prompts(int vocab) {
    Random random = new Random(42);
    long[][] p = {new long[24], new long[13]};
    for (long[] row : p) {
      row[0] = 1;
      for (int j = 1; j < row.length; j++) {
        row[j] = 3 + random.nextInt(vocab - 3);
      }
    }
    return p;
  }

  private static long elements(CausalLm model) {
    return model.parameters().values().stream().mapToLong(Tensor::numel).sum();
  }

  /**
   * Elements rank r holds, from the config alone: q, o and the MLP 1/N; k and v the rank's KV heads
   * (1/N when split, one head when replicated); ⌈V/N⌉ vocabulary rows; norms and o bias whole.
   */
  private static long expectedElements(ModelConfig c, int n) {
    long d = c.hiddenSize();
    long hd = c.headDim();
    long q = (long) c.numHeads() / n * hd;
    long kv = (c.numKvHeads() % n == 0 ? c.numKvHeads() / n : 1) * hd;
    long f = c.intermediateSize() / n;
    long attn = 2 * q * d + 2 * kv * d + (c.qkvBias() ? q + 2 * kv : 0) + (c.outputBias() ? d : 0);
    long mlp = 3 * d * f;
    long ffn = c.isMoe() ? c.numExperts() * (mlp + d) : mlp;
    long vocabRows = (c.vocabSize() + n - 1) / n;
    return c.numLayers() * (attn + ffn + 2 * d) + d + vocabRows * d * (c.tieWordEmbeddings() ? 1 : 2);
  }

  /** Elements every rank holds whole: RMSNorm weights, o_proj bias, MoE routers. */
  private static long replicated(ModelConfig c) {
    long d = c.hiddenSize();
    long perLayer = 2 * d + (c.outputBias() ? d : 0) + (c.isMoe() ? (long) c.numExperts() * d : 0);
    return c.numLayers() * perLayer + d;
  }

  /** Extra k/v elements per rank when N exceeds the KV heads (each rank keeps a whole head). */
  private static long kvReplicationExtra(ModelConfig c, int n) {
    if (c.numKvHeads() % n == 0) {
      return 0;
    }
    long perHead = 2L * c.headDim() * (c.hiddenSize() + (c.qkvBias() ? 1 : 0));
    return c.numLayers() * perHead;
  }

  /** A random llama checkpoint with large weights (std 0.2), random biases and norms, as the fixtures have. */
  private static void writeRandom(ModelConfig config, Path dir) {
    try (CausalLm model = ModelInit.random(config, 11, 0.2, ScalarType.Float, DeviceSpec.CPU, false);
        PointerScope s = new PointerScope()) {
      Generator gen = torch.createCPUGenerator(12);
      for (Map.Entry<String, Tensor> e : model.parameters().entrySet()) {
        if (e.getKey().endsWith(".bias")) {
          e.getValue().normal_(0.0, 0.2, new GeneratorOptional(gen));
        } else if (e.getKey().endsWith("norm.weight")) {
          e.getValue().normal_(1.0, 0.1, new GeneratorOptional(gen));
        }
      }
      ModelSaver.save(model, dir, DType.F32, ModelSaver.DEFAULT_SHARD_BYTES);
    }
  }

  /** Every rank waits until the group is whole, so a rank that fails at once cannot leave one still joining. */
  private static CausalLm loadAfterBarrier(Collectives c, Path dir, DeviceSpec device, ScalarType dtype,
      TensorParallel tp) {
    c.barrier();
    return ModelLoader.load(dir, device, dtype, tp);
  }

  private static Path configOnly(Path dir, int hidden, int heads, int kvHeads, int intermediate) throws Exception {
    ModelConfig c = new ModelConfig(ModelFamily.LLAMA, 64, hidden, intermediate, 1, heads, kvHeads, hidden / heads,
        1e-5, 1e4, null, 64, false, false, false, 0, 0, 0, null, List.of(), null, "float32");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), c.toJson("float32"));
    return dir;
  }
}
