package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.model.CausalLm;

/** The experience maker on tiny random models: layout, lp_old consistency, shaping and advantages. */
class ExperienceMakerTest {
  @Test
  void recomputedOldLogProbsMatchTheSamplerAtTemperatureOne() {
    try (CausalLm actor = PpoTestModels.policy(3, 0.3)) {
      ExperienceMaker maker = new ExperienceMaker(ExperienceMaker.Options.defaults(AdvantageEstimator.REINFORCE, 2, 6),
          actor, null, null, PpoTestModels.targetShare(), KlController.fixed(0.0));
      Experience e = maker.make(PpoTestModels.prompts(), 11, 4);
      assertEquals(8, e.batchSize());
      assertEquals(4, e.policyVersion());
      float[] mask = e.actionMask();
      float[] old = e.oldLogProbs();
      float[] roll = e.rolloutLogProbs();
      double maxDiff = 0;
      for (int i = 0; i < mask.length; i++) {
        if (mask[i] == 0) {
          assertEquals(0f, old[i]);
        } else {
          maxDiff = Math.max(maxDiff, Math.abs(old[i] - roll[i]));
        }
      }
      assertTrue(maxDiff < 1e-4, "lp_old vs sampler log-probs differ by " + maxDiff);
      int[] lengths = e.responseLengths();
      for (int i = 0; i < e.batchSize(); i++) {
        int promptLength = PpoTestModels.prompts().get(i / 2).length;
        assertEquals(promptLength + lengths[i], e.sequence(i).length);
        assertEquals(1f, mask[i * e.actionFrame() + promptLength - 1], "first action entry of row " + i);
      }
      assertNull(e.refLogProbs());
      assertNull(e.values());
    }
  }

  @Test
  void rewardsCarryTheKlPenaltyAndTheScoreAtTheLastActionToken() {
    double beta = 0.1;
    try (CausalLm actor = PpoTestModels.policy(3, 0.3); CausalLm ref = PpoTestModels.policy(4, 0.3)) {
      ExperienceMaker maker = new ExperienceMaker(ExperienceMaker.Options.defaults(AdvantageEstimator.REINFORCE, 2, 5),
          actor, ref, null, PpoTestModels.targetShare(), KlController.fixed(beta));
      Experience e = maker.make(PpoTestModels.prompts(), 12, 0);
      int t = e.actionFrame();
      float[] mask = e.actionMask();
      float[] old = e.oldLogProbs();
      float[] refLp = e.refLogProbs();
      float[] r = e.rewards();
      float[] g = e.returns();
      double[] s = e.scores();
      double klSum = 0;
      for (int row = 0; row < e.batchSize(); row++) {
        int last = -1;
        double running = 0;
        for (int c = t - 1; c >= 0; c--) {
          int i = row * t + c;
          if (mask[i] == 0) {
            assertEquals(0f, r[i]);
            continue;
          }
          if (last < 0) {
            last = c;
          }
          double expected = -beta * (old[i] - refLp[i]) + (c == last ? s[row] : 0);
          assertEquals(expected, r[i], 1e-5, "reward row " + row + " t " + c);
          running += r[i];
          assertEquals(running, g[i], 1e-4, "return row " + row + " t " + c);
          klSum += old[i] - refLp[i];
        }
      }
      assertTrue(klSum != 0);
      assertTrue(maker.observedKl(e) != 0);
      assertWhitened(e);
    }
  }

  @Test
  void groupNormGivesEachSampleItsGroupNormalisedScoreAtEveryToken() {
    try (CausalLm actor = PpoTestModels.policy(3, 1.0)) {
      ExperienceMaker maker = new ExperienceMaker(
          ExperienceMaker.Options.defaults(AdvantageEstimator.GROUP_NORM, 4, 6).withIgnoreEos(true),
          actor, null, null, PpoTestModels.targetShare(), KlController.fixed(0.01));
      Experience e = maker.make(PpoTestModels.prompts().subList(0, 2), 13, 0);
      float[] adv = e.advantages();
      float[] mask = e.actionMask();
      double[] s = e.scores();
      int t = e.actionFrame();
      for (int row = 0; row < e.batchSize(); row++) {
        int g0 = row / 4 * 4;
        double mean = (s[g0] + s[g0 + 1] + s[g0 + 2] + s[g0 + 3]) / 4;
        double var = 0;
        for (int k = 0; k < 4; k++) {
          var += (s[g0 + k] - mean) * (s[g0 + k] - mean) / 3;
        }
        double expected = (s[row] - mean) / (Math.sqrt(var) + Advantages.GROUP_STD_EPS);
        for (int c = 0; c < t; c++) {
          assertEquals(mask[row * t + c] == 0 ? 0 : expected, adv[row * t + c], 1e-4);
        }
      }
      assertTrue(e.truncated()[0]);
      assertEquals(6, e.responseLengths()[0]);
    }
  }

  @Test
  void gaeUsesCriticValuesAndWhitensAdvantages() {
    try (CausalLm actor = PpoTestModels.policy(3, 0.3); CausalLm critic = PpoTestModels.critic(5)) {
      ExperienceMaker maker = new ExperienceMaker(
          ExperienceMaker.Options.defaults(AdvantageEstimator.GAE, 1, 5).withGammaLambda(1.0, 0.95),
          actor, null, critic, PpoTestModels.targetShare(), KlController.fixed(0.0));
      Experience e = maker.make(PpoTestModels.prompts(), 14, 0);
      assertNotNull(e.values());
      float[] v = e.values();
      float[] mask = e.actionMask();
      boolean anyNonZero = false;
      for (int i = 0; i < v.length; i++) {
        if (mask[i] == 0) {
          assertEquals(0f, v[i]);
        } else {
          anyNonZero |= v[i] != 0;
        }
      }
      assertTrue(anyNonZero);
      assertWhitened(e);
      assertThrows(IllegalArgumentException.class, () -> new ExperienceMaker(
          ExperienceMaker.Options.defaults(AdvantageEstimator.GAE, 1, 5), actor, null, null,
          PpoTestModels.targetShare(), KlController.fixed(0.0)));
    }
  }

  @Test
  void sameSeedGivesTheSameExperience() {
    try (CausalLm actor = PpoTestModels.policy(3, 0.3)) {
      ExperienceMaker maker = new ExperienceMaker(ExperienceMaker.Options.defaults(AdvantageEstimator.RLOO, 2, 5),
          actor, null, null, PpoTestModels.targetShare(), KlController.fixed(0.0));
      Experience a = maker.make(PpoTestModels.prompts(), 21, 0);
      Experience b = maker.make(PpoTestModels.prompts(), 21, 0);
      assertArrayEquals(a.ids(), b.ids());
      assertArrayEquals(a.advantages(), b.advantages());
    }
  }

  private static void assertWhitened(Experience e) {
    float[] adv = e.advantages();
    float[] mask = e.actionMask();
    double sum = 0;
    double sq = 0;
    int n = 0;
    for (int i = 0; i < adv.length; i++) {
      if (mask[i] != 0) {
        sum += adv[i];
        sq += adv[i] * adv[i];
        n++;
      } else {
        assertEquals(0f, adv[i]);
      }
    }
    assertEquals(0.0, sum / n, 1e-4);
    assertEquals(1.0, sq / n, 1e-3);
  }
}
