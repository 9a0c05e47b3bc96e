package org.rlhfnode.runtime.algo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.SamplingParams;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ModelInit;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.tensor.DeviceSpec;

class RejectionSamplerTest {

  @Test
  void keepsTheBestSampleWhoseRewardBeatsTheAverageSample() {
    ModelConfig cfg = ModelConfig.load(Fixtures.hfTiny("llama"));
    try (CausalLm policy = ModelLoader.load(Fixtures.hfTiny("llama"), DeviceSpec.CPU, ScalarType.Float);
        CausalLm rm = ModelInit.random(cfg, 9, 0.2, ScalarType.Float, DeviceSpec.CPU, true)) {
      RewardScorer scorer = new RewardScorer(rm, 4);
      RejectionSampler sampler = new RejectionSampler(new GenerationEngine(policy), List.of(scorer),
          RejectionSampler.Combine.SUM, null, 2);
      List<long[]> prompts = List.of(new long[] {1, 10, 20, 30}, new long[] {1, 40, 50}, new long[] {1, 60});
      SamplingParams params = SamplingParams.sample(6, 1.0, 0, 1.0, 100);
      List<RejectionSampler.Best> best = sampler.run(prompts, 4, params);
      assertEquals(3, best.size());
      double bestMean = 0;
      double sampleMean = 0;
      for (RejectionSampler.Best b : best) {
        assertTrue(b.reward() >= b.meanReward());
        long[] prompt = prompts.get(b.promptIndex());
        long[] seq = java.util.Arrays.copyOf(prompt, prompt.length + b.responseIds().length);
        System.arraycopy(b.responseIds(), 0, seq, prompt.length, b.responseIds().length);
        assertEquals(b.reward(), scorer.score(List.of(seq))[0], 1e-5, "reported reward is the RM score");
        bestMean += b.reward() / best.size();
        sampleMean += b.meanReward() / best.size();
      }
      assertTrue(bestMean > sampleMean, bestMean + " vs " + sampleMean);
      List<RejectionSampler.Best> again = sampler.run(prompts, 4, params);
      for (int i = 0; i < best.size(); i++) {
        assertArrayEquals(best.get(i).responseIds(), again.get(i).responseIds(), "seeded: same samples");
      }
    }
  }
}
