package org.rlhfnode.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GenerationEngineTest {
  private CausalLm model;
  private GenerationEngine engine;
  private JsonNode expected;
  private long[] prompt0;
  private long[] prompt1;

  @BeforeAll
  void load() {
    model = ModelLoader.load(Fixtures.hfTiny("llama"), DeviceSpec.CPU, ScalarType.Float);
    engine = new GenerationEngine(model);
    expected = Fixtures.json(Fixtures.hfTiny("llama").resolve("expected.json"));
    prompt0 = Fixtures.longs(expected.get("sequences").get(0).get("tokens"));
    prompt1 = Fixtures.longs(expected.get("sequences").get(1).get("tokens"));
  }

  @AfterAll
  void close() {
    model.close();
  }

  /**
   * n samples of a prompt share its prefill: each distinct prompt is computed once (the prefill counts its
   * tokens once), and every request gets the tokens and log-probs it gets when each row prefills alone.
   */
  @Test
  void samplesOfOnePromptShareItsPrefillAndGetTheSameResults() {
    long[] third = Arrays.copyOf(prompt1, prompt1.length - 1);
    List<GenerationRequest> requests = new java.util.ArrayList<>();
    for (int n = 0; n < 4; n++) {
      for (long[] p : List.of(prompt0, prompt1)) {
        requests.add(new GenerationRequest(p, SamplingParams.sample(10, 1.0, 0, 1.0, 100 + requests.size())));
      }
    }
    requests.add(new GenerationRequest(third, SamplingParams.sample(10, 1.0, 0, 1.0, 7)));
    GenerationStats sharedStats = new GenerationStats();
    GenerationStats aloneStats = new GenerationStats();
    List<GenerationResult> shared = engine.generate(requests, sharedStats);
    List<GenerationResult> alone = new GenerationEngine(model, false).generate(requests, aloneStats);
    boolean differ = false;
    for (int i = 0; i < requests.size(); i++) {
      assertArrayEquals(alone.get(i).newTokens(), shared.get(i).newTokens(), "tokens of request " + i);
      assertTrue(Fixtures.maxAbsDiff(alone.get(i).logProbs(), shared.get(i).logProbs()) <= 1e-5, "request " + i);
      differ |= !Arrays.equals(shared.get(0).newTokens(), shared.get(i).newTokens());
    }
    assertTrue(differ, "the samples of one prompt differ (own seeds)");
    int width = Math.max(prompt0.length, prompt1.length);
    assertEquals(3.0 / 9, sharedStats.prefillTokens() / (double) aloneStats.prefillTokens(), 1e-9);
    assertEquals(9L * width, aloneStats.prefillTokens());
  }

  @Test
  void greedyLogProbsAreTheLogSoftmaxOfTransformersStepLogits() {
    GenerationResult r = engine.generate(List.of(new GenerationRequest(prompt0, SamplingParams.greedy(12)))).get(0);
    JsonNode greedy = expected.get("sequences").get(0).get("greedy");
    float[] stepLogits = Fixtures.floats(greedy.get("step_logits").get("data"));
    try (PointerScope s = new PointerScope()) {
      Tensor logProbs = torch.log_softmax(Tensors.floats(stepLogits, 12, 320), 1);
      Tensor picked = logProbs.gather(1, Tensors.longs(r.newTokens(), 12, 1)).squeeze(1);
      assertTrue(Fixtures.maxAbsDiff(Tensors.toFloats(picked), r.logProbs()) < 1e-4);
    }
    assertEquals(FinishReason.LENGTH, r.finishReason());
  }

  @Test
  void samplingIsReproducibleForASeedAndIndependentOfBatchCompanions() {
    SamplingParams p = SamplingParams.sample(12, 1.0, 0, 1.0, 1234);
    long[] other = Arrays.copyOf(prompt0, prompt0.length);
    other[5] = 7;
    GenerationResult alone = engine.generate(List.of(new GenerationRequest(prompt0, p))).get(0);
    List<GenerationResult> batch = engine.generate(List.of(
        new GenerationRequest(other, p.withSeed(99)), new GenerationRequest(prompt0, p)));
    assertArrayEquals(alone.newTokens(), batch.get(1).newTokens());
    GenerationResult reseeded = engine.generate(List.of(new GenerationRequest(prompt0, p.withSeed(1235)))).get(0);
    assertFalse(Arrays.equals(alone.newTokens(), reseeded.newTokens()));
  }

  @Test
  void topKOneAndTinyTopPAreGreedy() {
    long[] greedy = engine.generate(List.of(new GenerationRequest(prompt1, SamplingParams.greedy(12)))).get(0).newTokens();
    long[] topK1 = engine.generate(List.of(new GenerationRequest(prompt1, SamplingParams.sample(12, 1.5, 1, 1.0, 5))))
        .get(0).newTokens();
    long[] topP = engine.generate(List.of(new GenerationRequest(prompt1, SamplingParams.sample(12, 1.0, 0, 1e-6, 5))))
        .get(0).newTokens();
    assertArrayEquals(greedy, topK1);
    assertArrayEquals(greedy, topP);
  }

  @Test
  void topKRestrictsSamplesToTheKBestTokens() {
    try (PointerScope s = new PointerScope()) {
      Tensor row = Tensors.floats(new float[] {0f, 3f, 1f, 2.9f, -1f}, 5);
      org.bytedeco.pytorch.Generator g = torch.createCPUGenerator(3);
      SamplingParams p = SamplingParams.sample(1, 1.0, 2, 1.0, 0);
      for (int i = 0; i < 200; i++) {
        long t = Sampler.draw(row, p, g);
        assertTrue(t == 1 || t == 3, "drew " + t);
      }
      // top-p 0.6: softmax mass of token 1 alone is ~0.49 < 0.6, so token 3 (~0.45) stays, the rest go
      SamplingParams nucleus = SamplingParams.sample(1, 1.0, 0, 0.6, 0);
      boolean sawThree = false;
      for (int i = 0; i < 200; i++) {
        long t = Sampler.draw(row, nucleus, g);
        assertTrue(t == 1 || t == 3, "drew " + t);
        sawThree |= t == 3;
      }
      assertTrue(sawThree);
    }
  }

  @Test
  void finishedRowsLeaveTheBatchWithoutChangingTheOthers() {
    List<GenerationResult> reference = engine.generate(List.of(
        new GenerationRequest(prompt0, SamplingParams.greedy(12)), new GenerationRequest(prompt1, SamplingParams.greedy(12))));
    long stopToken = reference.get(0).newTokens()[3];
    SamplingParams stopping = SamplingParams.greedy(12).withStops(new long[] {stopToken}, false);
    List<GenerationResult> mixed = engine.generate(List.of(
        new GenerationRequest(prompt0, stopping), new GenerationRequest(prompt1, SamplingParams.greedy(5)),
        new GenerationRequest(prompt1, SamplingParams.greedy(12))));
    int firstStop = indexOf(reference.get(0).newTokens(), stopToken);
    assertEquals(FinishReason.STOP, mixed.get(0).finishReason());
    assertArrayEquals(Arrays.copyOf(reference.get(0).newTokens(), firstStop + 1), mixed.get(0).newTokens());
    assertArrayEquals(Arrays.copyOf(reference.get(1).newTokens(), 5), mixed.get(1).newTokens());
    assertEquals(FinishReason.LENGTH, mixed.get(1).finishReason());
    assertArrayEquals(reference.get(1).newTokens(), mixed.get(2).newTokens());
  }

  @Test
  void outOfVocabularyPromptIsRejectedWithItsIndex() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> engine.generate(List.of(new GenerationRequest(new long[] {1, 5, 320}, SamplingParams.greedy(2)))));
    assertTrue(e.getMessage().contains("token id 320 at index 2"), e.getMessage());
  }

  @Test
  void nativeMemoryIsReleasedAfterEveryCall() {
    List<GenerationRequest> reqs = List.of(new GenerationRequest(prompt0, SamplingParams.sample(8, 0.9, 20, 0.9, 1)),
        new GenerationRequest(prompt1, SamplingParams.greedy(6)));
    engine.generate(reqs);
    long before = Pointer.totalCount();
    for (int i = 0; i < 200; i++) {
      engine.generate(reqs);
    }
    // every native object a call creates lives in its PointerScope and is gone when it returns; the count is
    // global, and JavaCPP's deallocator thread may free other tests' garbage meanwhile, so it may only fall
    long after = Pointer.totalCount();
    assertTrue(after <= before, after + " native objects after 200 calls, " + before + " before");
  }

  private static int indexOf(long[] a, long v) {
    for (int i = 0; i < a.length; i++) {
      if (a[i] == v) {
        return i;
      }
    }
    return -1;
  }
}
