package org.rlhfnode.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;
import org.rlhfnode.runtime.generate.SamplingParams;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * The model against HuggingFace transformers' own outputs ({@code ../shared/fixtures/hf-tiny}):
 * logits and log-probs within 1e-4 in fp32, padded batch equal to unpadded runs, KV-cache decode
 * logits equal to HF's step logits, greedy continuations identical token for token.
 */
class HfParityTest {
  private static final double TOL = 1e-4;

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "mistral", "mixtral", "llama-rope-scaled", "llama3-rope",
      "llama-bf16", "llama-sharded"})
  void reproducesTransformersLogitsOnPaddedBatch(String fixture) {
    JsonNode expected = Fixtures.json(Fixtures.hfTiny(fixture).resolve("expected.json"));
    try (CausalLm model = load(fixture); PointerScope s = new PointerScope(); InferenceMode g = new InferenceMode()) {
      JsonNode batch = expected.get("batch");
      int rows = batch.get("input_ids").size();
      int width = batch.get("input_ids").get(0).size();
      Tensor ids = Tensors.longs(Fixtures.flatLongs(batch.get("input_ids")), rows, width);
      Tensor mask = Tensors.longs(Fixtures.flatLongs(batch.get("attention_mask")), rows, width);
      Tensor logits = model.forward(ids, mask); // [B, T, V]
      for (JsonNode seq : expected.get("sequences")) {
        int row = seq.get("index").asInt();
        int pad = seq.get("num_left_pad").asInt();
        int len = seq.get("length").asInt();
        Tensor real = logits.select(0, row).narrow(0, pad, len);
        float[] want = Fixtures.floats(seq.get("logits").get("data"));
        double diff = Fixtures.maxAbsDiff(Tensors.toFloats(real), want);
        assertTrue(diff <= TOL, fixture + " row " + row + " padded-batch logits differ by " + diff);
        checkLogProbs(fixture, real, seq);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "mistral", "mixtral", "llama3-rope"})
  void unpaddedRunsMatchAndCachedDecodeMatchesStepLogits(String fixture) {
    JsonNode expected = Fixtures.json(Fixtures.hfTiny(fixture).resolve("expected.json"));
    try (CausalLm model = load(fixture); PointerScope s = new PointerScope(); InferenceMode g = new InferenceMode()) {
      for (JsonNode seq : expected.get("sequences")) {
        long[] tokens = Fixtures.longs(seq.get("tokens"));
        Tensor ids = Tensors.longs(tokens, 1, tokens.length);
        Tensor logits = model.forward(ids, torch.ones(1, tokens.length).to(ScalarType.Long)).select(0, 0);
        double diff = Fixtures.maxAbsDiff(Tensors.toFloats(logits), Fixtures.floats(seq.get("logits").get("data")));
        assertTrue(diff <= TOL, fixture + " unpadded logits differ by " + diff);
        checkStepLogits(fixture, model, tokens, seq.get("greedy"));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "mistral", "mixtral", "llama-rope-scaled", "llama3-rope",
      "llama-bf16", "llama-sharded"})
  void greedyBatchGenerationEqualsTransformers(String fixture) {
    JsonNode expected = Fixtures.json(Fixtures.hfTiny(fixture).resolve("expected.json"));
    try (CausalLm model = load(fixture)) {
      int maxNew = expected.get("generation").get("max_new_tokens").asInt();
      List<GenerationRequest> requests = new ArrayList<>();
      for (JsonNode seq : expected.get("sequences")) {
        requests.add(new GenerationRequest(Fixtures.longs(seq.get("tokens")), SamplingParams.greedy(maxNew)));
      }
      GenerationEngine engine = new GenerationEngine(model);
      List<GenerationResult> cached = engine.generate(requests);
      List<GenerationResult> uncached = engine.generateWithoutCache(requests);
      JsonNode outputIds = expected.get("generation").get("output_ids");
      for (int i = 0; i < requests.size(); i++) {
        long[] row = Fixtures.longs(outputIds.get(i));
        long[] want = java.util.Arrays.copyOfRange(row, row.length - maxNew, row.length);
        assertArrayEquals(want, cached.get(i).newTokens(), fixture + " row " + i + " (KV cache)");
        assertArrayEquals(want, uncached.get(i).newTokens(), fixture + " row " + i + " (no cache)");
        assertArrayEquals(Fixtures.longs(expected.get("sequences").get(i).get("greedy").get("new_tokens")),
            cached.get(i).newTokens());
      }
    }
  }

  private static void checkLogProbs(String fixture, Tensor realLogits, JsonNode seq) {
    JsonNode lp = seq.get("next_token_logprobs");
    long[] targets = Fixtures.longs(lp.get("targets"));
    int n = targets.length;
    Tensor logProbs = torch.log_softmax(realLogits.narrow(0, 0, n), 1)
        .gather(1, Tensors.longs(targets, n, 1)).squeeze(1);
    double diff = Fixtures.maxAbsDiff(Tensors.toFloats(logProbs), Fixtures.floats(lp.get("values")));
    assertTrue(diff <= TOL, fixture + " next-token log-probs differ by " + diff);
  }

  private static void checkStepLogits(String fixture, CausalLm model, long[] prompt, JsonNode greedy) {
    long[] newTokens = Fixtures.longs(greedy.get("new_tokens"));
    float[] want = Fixtures.floats(greedy.get("step_logits").get("data"));
    int vocab = model.config().vocabSize();
    try (KvCache cache = model.newCache(1, prompt.length + newTokens.length)) {
      Tensor ids = Tensors.longs(prompt, 1, prompt.length);
      for (int step = 0; step < newTokens.length; step++) {
        Tensor hidden = model.hidden(ids, torch.ones(ids.size(0), ids.size(1)).to(ScalarType.Long), cache);
        float[] got = Tensors.toFloats(model.logits(hidden.narrow(1, hidden.size(1) - 1, 1)));
        float[] ref = java.util.Arrays.copyOfRange(want, step * vocab, (step + 1) * vocab);
        double diff = Fixtures.maxAbsDiff(got, ref);
        assertTrue(diff <= TOL, fixture + " step " + step + " cached logits differ by " + diff);
        ids = Tensors.longs(new long[] {newTokens[step]}, 1, 1);
      }
      assertEquals(prompt.length + newTokens.length - 1, cache.length(), "the last token is sampled, never fed");
    }
  }

  static CausalLm load(String fixture) {
    return ModelLoader.load(Fixtures.hfTiny(fixture), DeviceSpec.CPU, ScalarType.Float);
  }
}
