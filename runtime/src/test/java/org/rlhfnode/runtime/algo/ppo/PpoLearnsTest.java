package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.lora.LoraConfig;
import org.rlhfnode.runtime.lora.LoraModel;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.train.AdamW;

/**
 * End-to-end PPO on tiny random models with a rule-based reward (share of generated tokens equal to
 * a target id): the mean reward of fresh samples must rise clearly within a few iterations.
 */
class PpoLearnsTest {
  private static final int ITERATIONS = 12;

  private static Map<String, Tensor> trainable(CausalLm model) {
    Map<String, Tensor> params = model.parameters();
    params.values().forEach(t -> t.requires_grad_(true));
    return params;
  }

  private static List<Double> run(AdvantageEstimator estimator, int n, boolean withCritic, boolean withReference,
      List<PpoUpdater.Metrics> metrics) {
    try (CausalLm actor = PpoTestModels.policy(5, 0.02); CausalLm ref = PpoTestModels.policy(5, 0.02);
        CausalLm critic = PpoTestModels.critic(6)) {
      ExperienceMaker maker = new ExperienceMaker(
          ExperienceMaker.Options.defaults(estimator, n, 6).withIgnoreEos(true), actor,
          withReference ? ref : null, withCritic ? critic : null, PpoTestModels.targetShare(), KlController.fixed(0.01));
      Map<String, Tensor> actorParams = trainable(actor);
      Map<String, Tensor> criticParams = withCritic ? trainable(critic) : null;
      try (AdamW actorOpt = new AdamW(actorParams, AdamW.Options.DEFAULTS);
          AdamW criticOpt = withCritic ? new AdamW(criticParams, AdamW.Options.DEFAULTS) : null) {
        PpoUpdater updater = new PpoUpdater(PpoUpdater.Options.defaults(8, 4, 1e-2, 1e-2).withEpochs(2),
            PpoUpdater.Trainee.local(actor, actorParams, actorOpt, 1.0),
            withCritic ? PpoUpdater.Trainee.local(critic, criticParams, criticOpt, 1.0) : null);
        List<Double> rewards = new ArrayList<>();
        for (int it = 0; it < ITERATIONS; it++) {
          Experience e = maker.make(PpoTestModels.prompts(), 100 + it, it);
          rewards.add(e.meanScore());
          metrics.add(updater.update(e));
        }
        return rewards;
      }
    }
  }

  private static final double STD = 0.2;

  /** GROUP_NORM with LoRA adapters on every projection of the actor: only A and B train. */
  private static List<Double> runWithLora(double lr) {
    // weights of std 0.2: with 0.02 the frozen lm_head keeps every logit within ~0.1, out of the adapters' reach
    try (CausalLm actor = PpoTestModels.policy(5, STD); CausalLm ref = PpoTestModels.policy(5, STD);
        LoraModel lora = LoraModel.attach(actor, new LoraConfig(8, 16, 0, List.of(LoraConfig.ALL_LINEAR)), 3)) {
      ExperienceMaker maker = new ExperienceMaker(
          ExperienceMaker.Options.defaults(AdvantageEstimator.GROUP_NORM, 4, 6).withIgnoreEos(true), actor, ref, null,
          PpoTestModels.targetShare(), KlController.fixed(0.01));
      Map<String, Tensor> adapters = lora.trainableParameters();
      Tensor embedding = actor.parameters().get("model.embed_tokens.weight");
      float[] frozen = org.rlhfnode.runtime.tensor.Tensors.toFloats(embedding);
      try (AdamW opt = new AdamW(adapters, AdamW.Options.DEFAULTS)) {
        PpoUpdater updater = new PpoUpdater(PpoUpdater.Options.defaults(8, 4, lr, 0).withEpochs(2),
            PpoUpdater.Trainee.local(actor, adapters, opt, 1.0), null);
        List<Double> rewards = new ArrayList<>();
        for (int it = 0; it < ITERATIONS; it++) {
          Experience e = maker.make(PpoTestModels.prompts(), 100 + it, it);
          rewards.add(e.meanScore());
          updater.update(e);
        }
        assertTrue(java.util.Arrays.equals(frozen, org.rlhfnode.runtime.tensor.Tensors.toFloats(embedding)),
            "the base weights stay frozen");
        return rewards;
      }
    }
  }

  @Test
  void loraAdaptersAloneRaiseTheMeanRewardOfFreshSamples() {
    List<Double> rewards = runWithLora(2e-2);
    double start = mean(rewards.subList(0, 2));
    double end = mean(rewards.subList(ITERATIONS - 2, ITERATIONS));
    assertTrue(end > start + 0.3, "reward " + rewards);
  }

  private static double mean(List<Double> xs) {
    return xs.stream().mapToDouble(Double::doubleValue).average().orElse(0);
  }

  @Test
  void groupNormRaisesTheMeanRewardOfFreshSamples() {
    List<PpoUpdater.Metrics> metrics = new ArrayList<>();
    List<Double> rewards = run(AdvantageEstimator.GROUP_NORM, 4, false, true, metrics);
    double start = mean(rewards.subList(0, 2));
    double end = mean(rewards.subList(ITERATIONS - 2, ITERATIONS));
    assertTrue(end > start + 0.3, "reward " + rewards);
    assertEquals(4, metrics.get(0).optimizerSteps()); // 16 samples / 8 per step × 2 epochs
    assertTrue(Double.isNaN(metrics.get(0).valueLoss()));
    assertTrue(Double.isFinite(metrics.get(0).policyLoss()));
  }

  @Test
  void gaeWithACriticRaisesTheMeanRewardAndFitsTheValues() {
    List<PpoUpdater.Metrics> metrics = new ArrayList<>();
    List<Double> rewards = run(AdvantageEstimator.GAE, 4, true, false, metrics);
    double start = mean(rewards.subList(0, 2));
    double end = mean(rewards.subList(ITERATIONS - 2, ITERATIONS));
    assertTrue(end > start + 0.3, "reward " + rewards);
    assertTrue(Double.isFinite(metrics.get(ITERATIONS - 1).valueLoss()));
    assertTrue(metrics.stream().anyMatch(m -> m.clipFraction() > 0), "some tokens clip over 2 epochs");
  }
}
