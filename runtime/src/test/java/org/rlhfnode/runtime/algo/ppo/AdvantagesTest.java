package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.mat;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.row;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.values;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.vec;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class AdvantagesTest {
  private static final float TOL = 1e-6f;

  @Test
  void workedExample3GaeWithLambdaHalfAndOne() {
    try (PointerScope s = new PointerScope()) {
      Tensor r = row(0, 0, 1);
      Tensor v = row(0.5f, 0.4f, 0.6f);
      Tensor a = row(1, 1, 1);
      Advantages.Result half = Advantages.gae(r, v, a, 1.0, 0.5);
      assertArrayEquals(new float[] {0.1f, 0.4f, 0.4f}, values(half.advantages()), TOL);
      assertArrayEquals(new float[] {0.6f, 0.8f, 1.0f}, values(half.returns()), TOL);
      Advantages.Result one = Advantages.gae(r, v, a, 1.0, 1.0);
      assertArrayEquals(new float[] {0.5f, 0.6f, 0.4f}, values(one.advantages()), TOL);
      assertArrayEquals(new float[] {1f, 1f, 1f}, values(one.returns()), TOL);
    }
  }

  @Test
  void workedExample2ReinforceReturns() {
    try (PointerScope s = new PointerScope()) {
      Tensor r = row(-0.01f, 0.02f, 0.97f);
      assertArrayEquals(new float[] {0.98f, 0.99f, 0.97f}, values(Advantages.returns(r, row(1, 1, 1), 1.0)), TOL);
      Advantages.Result res = Advantages.compute(AdvantageEstimator.REINFORCE, r, null, row(1, 1, 1), 1.0, 1.0);
      assertArrayEquals(new float[] {0.98f, 0.99f, 0.97f}, values(res.advantages()), TOL);
      assertArrayEquals(values(res.advantages()), values(res.returns()), 0f);
    }
  }

  @Test
  void discountedReturnsAndGroupEstimatorsForceUnitGamma() {
    try (PointerScope s = new PointerScope()) {
      Tensor r = row(1, 0, 2);
      // γ = 0.5: G_2 = 2, G_1 = 1, G_0 = 1.5
      assertArrayEquals(new float[] {1.5f, 1f, 2f}, values(Advantages.returns(r, row(1, 1, 1), 0.5)), TOL);
      Advantages.Result rloo = Advantages.compute(AdvantageEstimator.RLOO, r, null, row(1, 1, 1), 0.5, 1.0);
      assertArrayEquals(new float[] {3f, 2f, 2f}, values(rloo.advantages()), TOL);
    }
  }

  @Test
  void gaeWithUnitGammaAndLambdaIsRewardToGoMinusValueOnActionTokens() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(17);
      int b = 3;
      int t = 7;
      Tensor r = torch.randn(b, t);
      Tensor v = torch.randn(b, t);
      // action, observation tokens in the middle, padding at the end
      Tensor a = mat(b, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0);
      Advantages.Result res = Advantages.gae(r, v, a, 1.0, 1.0);
      float[] rr = values(r);
      float[] vv = values(v);
      float[] mm = values(a);
      float[] adv = values(res.advantages());
      float[] ret = values(res.returns());
      for (int i = 0; i < b; i++) {
        for (int j = 0; j < t; j++) {
          float toGo = 0;
          for (int k = j; k < t; k++) {
            toGo += rr[i * t + k] * mm[i * t + k];
          }
          float expected = mm[i * t + j] == 0 ? 0 : toGo - vv[i * t + j];
          assertEquals(expected, adv[i * t + j], 1e-5f, "A[" + i + "," + j + "]");
          assertEquals(mm[i * t + j] == 0 ? 0 : toGo, ret[i * t + j], 1e-5f, "R[" + i + "," + j + "]");
        }
      }
    }
  }

  @Test
  void gaeCarriesTheValueAcrossObservationTokensThroughTheRecursion() {
    try (PointerScope s = new PointerScope()) {
      // a = [1, 0, 1]: the observation has r = V = 0, so δ_1 = γ V_2 and A_0 sees V_2 only via A_1
      Advantages.Result res = Advantages.gae(row(0, 7, 1), row(0.5f, 9, 0.25f), row(1, 0, 1), 0.5, 1.0);
      // δ = [0 + 0 − 0.5, 0.5·0.25 − 0, 1 − 0.25] = [−0.5, 0.125, 0.75]; A_2 = 0.75, A_1 = 0.5, A_0 = −0.25
      assertArrayEquals(new float[] {-0.25f, 0f, 0.75f}, values(res.advantages()), TOL);
      assertArrayEquals(new float[] {0.25f, 0f, 1f}, values(res.returns()), TOL);
    }
  }

  @Test
  void workedExample5GroupScalars() {
    try (PointerScope s = new PointerScope()) {
      Tensor scores = vec(1, 0, 1, 0);
      assertArrayEquals(new float[] {0.8660254f, -0.8660254f, 0.8660254f, -0.8660254f},
          values(Advantages.groupScalars(AdvantageEstimator.GROUP_NORM, scores, 4)), TOL);
      assertArrayEquals(new float[] {0.6666667f, -0.6666667f, 0.6666667f, -0.6666667f},
          values(Advantages.groupScalars(AdvantageEstimator.RLOO, scores, 4)), TOL);
      for (AdvantageEstimator e : new AdvantageEstimator[] {AdvantageEstimator.REINFORCE_BASELINE,
          AdvantageEstimator.DR_GRPO}) {
        assertArrayEquals(new float[] {0.5f, -0.5f, 0.5f, -0.5f}, values(Advantages.groupScalars(e, scores, 4)), TOL);
      }
      assertArrayEquals(new float[] {1, 0, 1, 0}, values(Advantages.groupScalars(AdvantageEstimator.REINFORCE, scores, 4)), 0f);
    }
  }

  @Test
  void groupAdvantagesOfEachGroupSumToZero() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(23);
      Tensor scores = torch.randn(12).mul(new Scalar(4.0)); // 3 groups of 4
      for (AdvantageEstimator e : AdvantageEstimator.values()) {
        if (!e.groupBased()) {
          continue;
        }
        float[] out = values(Advantages.groupScalars(e, scores, 4));
        for (int g = 0; g < 3; g++) {
          float sum = out[4 * g] + out[4 * g + 1] + out[4 * g + 2] + out[4 * g + 3];
          assertEquals(0f, sum, 1e-5f, e.optionName() + " group " + g);
        }
      }
      // GRPO scalars of a group have unit sample std; a tied group gives zeros, not NaN
      float[] grpo = values(Advantages.groupScalars(AdvantageEstimator.GROUP_NORM, vec(2, 2, 2, 5, 1, 3), 3));
      assertArrayEquals(new float[] {0, 0, 0, 1, -1, 0}, grpo, TOL);
    }
  }

  @Test
  void groupEstimatorsRejectOneSampleAndSplitGroups() {
    try (PointerScope s = new PointerScope()) {
      for (AdvantageEstimator e : AdvantageEstimator.values()) {
        if (e.groupBased()) {
          IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
              () -> Advantages.groupScalars(e, vec(1, 2), 1));
          assertTrue(ex.getMessage().contains(e.optionName()) && ex.getMessage().contains("n_samples_per_prompt"),
              ex.getMessage());
        } else {
          Advantages.groupScalars(e, vec(1, 2), 1);
        }
      }
      assertThrows(IllegalArgumentException.class,
          () -> Advantages.groupScalars(AdvantageEstimator.RLOO, vec(1, 2, 3), 2));
    }
  }

  @Test
  void workedExample4WhiteningIgnoresMaskedEntries() {
    try (PointerScope s = new PointerScope()) {
      Tensor adv = row(0.1f, 0.4f, 0.4f, 9.9f);
      Tensor mask = row(1, 1, 1, 0);
      Advantages.Moments m = Advantages.moments(adv, mask);
      assertEquals(0.3, m.mean(), 1e-7);
      assertEquals(0.02, Advantages.squaredDeviations(adv, mask, m.mean()) / m.count(), 1e-7);
      float[] w = values(Advantages.whiten(adv, mask, false));
      assertArrayEquals(new float[] {-1.41421f, 0.70711f, 0.70711f}, java.util.Arrays.copyOf(w, 3), 1e-5f);
      float[] centred = values(Advantages.whiten(adv, mask, true));
      assertArrayEquals(new float[] {-0.2f, 0.1f, 0.1f}, java.util.Arrays.copyOf(centred, 3), TOL);
    }
  }

  @Test
  void whitenedAdvantagesHaveMeanZeroAndUnitVarianceOverTheMask() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(29);
      Tensor adv = torch.randn(6, 10).mul(new Scalar(3.0)).add(new Scalar(2.0));
      Tensor mask = torch.rand(6, 10).gt(new Scalar(0.3));
      Tensor w = Advantages.whiten(adv, mask, false);
      Advantages.Moments m = Advantages.moments(w, mask);
      assertEquals(0.0, m.mean(), 1e-6);
      assertEquals(1.0, Advantages.squaredDeviations(w, mask, 0.0) / m.count(), 1e-5);
      assertEquals(0.0, Advantages.moments(Advantages.whiten(adv, mask, true), mask).mean(), 1e-5);
    }
  }

  @Test
  void whiteningFromMicroBatchSumsEqualsWhiteningTheWholeRollout() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(31);
      Tensor adv = torch.randn(4, 5);
      Tensor mask = torch.rand(4, 5).gt(new Scalar(0.4));
      Tensor a1 = adv.narrow(0, 0, 2);
      Tensor a2 = adv.narrow(0, 2, 2);
      Tensor m1 = mask.narrow(0, 0, 2);
      Tensor m2 = mask.narrow(0, 2, 2);
      Advantages.Moments global = Advantages.moments(a1, m1).plus(Advantages.moments(a2, m2));
      double mean = global.mean();
      double var = (Advantages.squaredDeviations(a1, m1, mean) + Advantages.squaredDeviations(a2, m2, mean))
          / global.count();
      float[] whole = values(Advantages.whiten(adv, mask, false));
      float[] part = values(torch.cat(new org.bytedeco.pytorch.TensorVector(
          Advantages.whiten(a1, m1, mean, var, false), Advantages.whiten(a2, m2, mean, var, false)), 0));
      assertArrayEquals(whole, part, 1e-6f);
      assertThrows(IllegalStateException.class, () -> Advantages.moments(a1, torch.zeros_like(a1)).mean());
    }
  }

  @Test
  void fromScoresToAdvantagesEveryActionTokenOfAResponseGetsItsGroupScalar() {
    try (PointerScope s = new PointerScope()) {
      // one group of n = 4 (example 5), responses of 3, 1, 2 and 3 tokens, no KL in the reward
      Tensor mask = mat(4, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1);
      Tensor scores = vec(1, 0, 1, 0);
      Tensor lengths = RewardShaping.responseLengths(mask);
      float[] expected = {0.8660254f, 0.8660254f, 0.8660254f, -0.8660254f, 0, 0, 0.8660254f, 0.8660254f, 0,
          -0.8660254f, -0.8660254f, -0.8660254f};
      Tensor scalars = RewardShaping.sequenceRewards(RewardShaping.Options.DEFAULTS, AdvantageEstimator.GROUP_NORM, 4,
          scores, lengths, vec(0, 0, 0, 0));
      Tensor rewards = RewardShaping.perTokenRewards(null, mask, scalars, 0.0, false);
      Advantages.Result res = Advantages.compute(AdvantageEstimator.GROUP_NORM, rewards, null, mask, 0.9, 0.95);
      assertArrayEquals(expected, values(res.advantages()), TOL);
    }
  }

  @Test
  void estimatorsHaveOpenRlhfNamesAndTraits() {
    assertEquals(AdvantageEstimator.GROUP_NORM, AdvantageEstimator.fromName("group_norm"));
    assertEquals(AdvantageEstimator.REINFORCE_BASELINE, AdvantageEstimator.fromName("REINFORCE_BASELINE"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AdvantageEstimator.fromName("grpo"));
    assertTrue(e.getMessage().contains("gae, reinforce, reinforce_baseline, group_norm, dr_grpo, rloo"), e.getMessage());
    assertTrue(AdvantageEstimator.GAE.usesCritic() && AdvantageEstimator.GAE.whitened());
    assertTrue(AdvantageEstimator.REINFORCE_BASELINE.whitened() && AdvantageEstimator.REINFORCE_BASELINE.groupBased());
    assertTrue(!AdvantageEstimator.GROUP_NORM.whitened() && !AdvantageEstimator.DR_GRPO.whitened()
        && !AdvantageEstimator.RLOO.whitened());
    assertEquals(1, AdvantageEstimator.REINFORCE.minSamplesPerPrompt());
    assertEquals(2, AdvantageEstimator.DR_GRPO.minSamplesPerPrompt());
    assertThrows(IllegalArgumentException.class,
        () -> Advantages.compute(AdvantageEstimator.GAE, row(1), null, row(1), 1, 1));
  }
}
