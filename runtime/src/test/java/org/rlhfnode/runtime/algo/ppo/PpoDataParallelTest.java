package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.TokenLayout;
import org.rlhfnode.runtime.parallel.Parallelism;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.transport.RankGroup;

/**
 * Three PPO iterations (GAE, actor and critic) on tiny random models with the actor and critic over 2
 * and 4 Gloo ranks at ZeRO 0–3: the rewards of fresh samples, the value loss and the policy's KL to
 * the rollout equal one rank's (≤ 1e-5 relative; the policy loss, a mean of normalised advantages
 * near 0, within 1e-6 absolute); so do packed forwards ({@code --packing_samples}) on one rank and on two
 * at ZeRO-3 (layers recomputed in backward).
 */
class PpoDataParallelTest {
  private static final int ITERATIONS = 3;

  /** What one rank measured per iteration: reward, value loss, policy KL, policy loss. */
  private static List<double[]> run(int ranks, int stage) {
    return run(ranks, stage, false);
  }

  private static List<double[]> run(int ranks, int stage, boolean packed) {
    return RankGroup.run(ranks, Duration.ofSeconds(120), "ppo-dp", c -> rank(c, stage, packed)).get(0);
  }

  private static List<double[]> rank(Collectives c, int stage, boolean packed) {
    try (CausalLm actor = PpoTestModels.policy(5, 0.02); CausalLm critic = PpoTestModels.critic(6)) {
      actor.setPacking(packed); // the experience's scoring and the updates' forwards
      critic.setPacking(packed);
      Map<String, Tensor> actorParams = trainable(actor);
      Map<String, Tensor> criticParams = trainable(critic);
      Parallelism p = new Parallelism(stage, false);
      try (Parallelism.Prepared a = p.prepare(actor, actorParams, false, AdamW.Options.DEFAULTS, 1.0, c, null, false);
          Parallelism.Prepared v = p.prepare(critic, criticParams, false, AdamW.Options.DEFAULTS, 1.0, c, null, false)) {
        ExperienceMaker maker = new ExperienceMaker(
            ExperienceMaker.Options.defaults(AdvantageEstimator.GAE, 4, 6).withIgnoreEos(true), actor, null, critic,
            PpoTestModels.targetShare(), KlController.fixed(0.01));
        PpoUpdater updater = new PpoUpdater(PpoUpdater.Options.defaults(8, 2, 1e-2, 1e-2).withEpochs(2),
            new PpoUpdater.Trainee(actor, a.update(), a.afterBackward()),
            new PpoUpdater.Trainee(critic, v.update(), v.afterBackward()), c);
        List<double[]> out = new ArrayList<>();
        for (int it = 0; it < ITERATIONS; it++) {
          Experience e = maker.make(PpoTestModels.prompts(), 100 + it, it);
          a.releaseAll();
          v.releaseAll();
          PpoUpdater.Metrics m = updater.update(e);
          out.add(new double[] {e.meanScore(), m.valueLoss(), m.policyKl(), m.policyLoss()});
        }
        for (CausalLm model : List.of(actor, critic)) {
          TokenLayout.Tally t = model.packingTally();
          assertTrue(packed ? t.tokens() > 0 && t.tokens() < t.paddedSlots() : t.tokens() == 0, t.describe());
        }
        return out;
      }
    }
  }

  private static Map<String, Tensor> trainable(CausalLm model) {
    Map<String, Tensor> params = model.parameters();
    params.values().forEach(t -> t.requires_grad_(true));
    return params;
  }

  private static List<double[]> oneRank;

  private static synchronized List<double[]> oneRank() {
    if (oneRank == null) {
      oneRank = run(1, 0);
    }
    return oneRank;
  }

  @ParameterizedTest
  @CsvSource({"2,0,false", "2,1,false", "2,2,false", "2,3,false", "4,0,false", "4,1,false", "4,2,false", "4,3,false",
      "1,0,true", "2,3,true"})
  void ranksAtEveryStageRepeatTheOneRankIterations(int ranks, int stage, boolean packed) {
    List<double[]> one = oneRank();
    List<double[]> many = run(ranks, stage, packed);
    assertEquals(ITERATIONS, many.size());
    for (int it = 0; it < ITERATIONS; it++) {
      double[] x = one.get(it);
      double[] y = many.get(it);
      for (int k = 0; k < 3; k++) {
        double rel = Math.abs(x[k] - y[k]) / Math.max(1e-12, Math.abs(x[k]));
        assertTrue(rel <= 1e-5, "iteration " + it + " metric " + k + ": " + x[k] + " vs " + y[k]);
      }
      assertTrue(Math.abs(x[3] - y[3]) <= 1e-6, "policy loss " + x[3] + " vs " + y[3]);
    }
    assertTrue(one.get(ITERATIONS - 1)[1] != one.get(0)[1], "the critic trains");
  }
}
