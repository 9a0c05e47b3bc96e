package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.logs;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.mat;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.row;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.values;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class PolicyLossTest {
  private static final PolicyLoss.Options PPO = PolicyLoss.Options.DEFAULTS;

  /** lp_old = 0 and lp_θ = log ρ, so the ratios are exactly the given ones. */
  private static PolicyLoss.Batch batch(float[] ratios, float[] advantages) {
    return PolicyLoss.Batch.of(logs(ratios), row(new float[ratios.length]), row(advantages),
        row(ones(ratios.length)));
  }

  private static float[] ones(int n) {
    float[] out = new float[n];
    java.util.Arrays.fill(out, 1f);
    return out;
  }

  @Test
  void workedExample6ClippedSurrogate() {
    try (PointerScope s = new PointerScope()) {
      PolicyLoss.Result r = PolicyLoss.compute(PPO, batch(new float[] {1.5f, 0.7f, 1.5f, 0.7f},
          new float[] {1, 1, -1, -1}));
      assertArrayEquals(new float[] {-1.2f, -0.7f, 1.5f, 0.8f}, values(r.perTokenLoss()), 1e-6f);
      assertEquals(0.1, r.value(), 1e-6);
      assertEquals(0.5, r.clipFraction(), 0.0);
    }
  }

  @Test
  void workedExample7DualClip() {
    try (PointerScope s = new PointerScope()) {
      PolicyLoss.Batch b = batch(new float[] {4f, 1.5f, 4f}, new float[] {-1, -1, 1});
      float[] dual = values(PolicyLoss.compute(PPO.withDualClip(3.0), b).perTokenLoss());
      assertArrayEquals(new float[] {3f, 1.5f, -1.2f}, dual, 1e-5f);
      float[] plain = values(PolicyLoss.compute(PPO, b).perTokenLoss());
      assertArrayEquals(new float[] {4f, 1.5f, -1.2f}, plain, 1e-5f);
    }
  }

  @Test
  void clipHigherUsesSeparateBounds() {
    try (PointerScope s = new PointerScope()) {
      // ε_lo = 0.2, ε_hi = 0.28: (ρ = 1.5, A = 1) → −1.28; (ρ = 0.5, A = −1) → 0.8
      PolicyLoss.Result r = PolicyLoss.compute(PPO.withClip(0.2, 0.28), batch(new float[] {1.5f, 0.5f},
          new float[] {1, -1}));
      assertArrayEquals(new float[] {-1.28f, 0.8f}, values(r.perTokenLoss()), 1e-6f);
    }
  }

  @Test
  void onPolicyRatioOfOneHasNoClippingAndLossMinusMeanAdvantage() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(41);
      Tensor lp = torch.randn(3, 6).sub(new Scalar(2.0));
      Tensor adv = torch.randn(3, 6);
      Tensor mask = torch.rand(3, 6).gt(new Scalar(0.3));
      PolicyLoss.Result r = PolicyLoss.compute(PPO.withDualClip(3.0), PolicyLoss.Batch.of(lp, lp.clone(), adv, mask));
      assertEquals(0.0, r.clipFraction(), 0.0);
      assertEquals(0.0, r.policyKl(), 0.0);
      assertEquals(-Shapes.maskedMean(adv, mask), r.value(), 1e-6);
    }
  }

  @Test
  void gradientHasTheSignOfMinusAdvantageAndVanishesWhereTheRatioIsClipped() {
    try (PointerScope s = new PointerScope()) {
      // (ρ, A): unclipped (1.1, +1), (0.9, −1), (0.5, +1), (1.5, −1); clipped (1.5, +1), (0.5, −1);
      // dual-clipped (4, −1) with c = 3; the last token is masked out
      float[] ratios = {1.1f, 0.9f, 0.5f, 1.5f, 1.5f, 0.5f, 4f, 1.1f};
      float[] adv = {1, -1, 1, -1, 1, -1, -1, 1};
      Tensor lp = logs(ratios).requires_grad_(true);
      Tensor mask = row(1, 1, 1, 1, 1, 1, 1, 0);
      PolicyLoss.Batch b = PolicyLoss.Batch.of(lp, row(new float[8]), row(adv), mask);
      PolicyLoss.compute(PPO.withDualClip(3.0), b).loss().backward();
      float[] g = values(lp.grad());
      float n = 7;
      // dℓ/dlp = −A·ρ / N where unclipped
      float[] expected = {-1.1f / n, 0.9f / n, -0.5f / n, 1.5f / n, 0, 0, 0, 0};
      assertArrayEquals(expected, g, 1e-6f);
      assertTrue(g[0] < 0 && g[2] < 0, "positive advantage: descent raises lp");
      assertTrue(g[1] > 0 && g[3] > 0, "negative advantage: descent lowers lp");
    }
  }

  @Test
  void maskedSlotsContributeNothingEvenWhenTheirInputsAreNotFinite() {
    try (PointerScope s = new PointerScope()) {
      // the third slot is padding holding garbage: A = NaN, lp_old = −inf
      Tensor lp = logs(1.1f, 0.9f, 1f).requires_grad_(true);
      Tensor old = row(0, 0, Float.NEGATIVE_INFINITY);
      Tensor adv = row(1, -1, Float.NaN);
      PolicyLoss.Result r = PolicyLoss.compute(PPO, PolicyLoss.Batch.of(lp, old, adv, row(1, 1, 0)));
      assertArrayEquals(new float[] {-1.1f, 0.9f, 0f}, values(r.perTokenLoss()), 1e-6f);
      assertEquals(-0.1, r.value(), 1e-6);
      r.loss().backward();
      assertEquals(0f, values(lp.grad())[2], 0f);
    }
  }

  @Test
  void advantagesAndOldLogProbsGetNoGradient() {
    try (PointerScope s = new PointerScope()) {
      Tensor lp = logs(1.1f, 0.9f).requires_grad_(true);
      Tensor old = row(0, 0).requires_grad_(true);
      Tensor adv = row(1, -1).requires_grad_(true);
      PolicyLoss.compute(PPO, PolicyLoss.Batch.of(lp, old, adv, row(1, 1))).loss().backward();
      assertTrue(lp.grad().defined());
      assertTrue(!old.grad().defined() && !adv.grad().defined());
    }
  }

  @Test
  void policyKlIsTheMeanOldMinusNewLogProbOverActionTokens() {
    try (PointerScope s = new PointerScope()) {
      Tensor lp = row(-1.0f, -2.0f, -5.0f);
      Tensor old = row(-1.5f, -1.0f, 0f);
      PolicyLoss.Result r = PolicyLoss.compute(PPO, PolicyLoss.Batch.of(lp, old, row(0, 0, 0), row(1, 1, 0)));
      assertEquals((-0.5 + 1.0) / 2, r.policyKl(), 1e-6);
    }
  }

  @Test
  void stepDenominatorScalesTheTokenMean() {
    try (PointerScope s = new PointerScope()) {
      PolicyLoss.Batch b = batch(new float[] {1.5f, 0.7f, 1.5f, 0.7f}, new float[] {1, 1, -1, -1});
      assertEquals(0.4 / 10, PolicyLoss.compute(PPO, b, 10).value(), 1e-6);
    }
  }

  @Test
  void gspoUsesOneRatioPerSequenceAndSequenceMeanReduction() {
    try (PointerScope s = new PointerScope()) {
      // row 0: log-ratios (ln 2, 0) → ρ = √2 for both tokens; row 1: (0, 0, masked) → ρ = 1
      float ln2 = (float) Math.log(2);
      Tensor lp = mat(2, ln2, 0, 0, 0, 0, 7);
      Tensor old = mat(2, 0, 0, 0, 0, 0, 0);
      Tensor adv = mat(2, 1, 1, 0, 2, -2, 0);
      Tensor mask = mat(2, 1, 1, 0, 1, 1, 0);
      PolicyLoss.Result r = PolicyLoss.compute(PPO.withGspo(true), PolicyLoss.Batch.of(lp, old, adv, mask));
      // row 0: −min(√2, 1.2) = −1.2 per token, mean −1.2; row 1: (−2 + 2)/2 = 0; over 2 sequences
      assertArrayEquals(new float[] {-1.2f, -1.2f, 0f, -2f, 2f, 0f}, values(r.perTokenLoss()), 1e-6f);
      assertEquals(-0.6, r.value(), 1e-6);
      assertEquals(0.5, r.clipFraction(), 0.0);
      float[] rho = values(PolicyLoss.ratio(PPO.withGspo(true), lp, old, mask));
      assertEquals(Math.sqrt(2), rho[0], 1e-6);
      assertEquals(Math.sqrt(2), rho[1], 1e-6);
    }
  }

  @Test
  void gspoWithMismatchCorrectionTakesTheSequenceRatioAgainstRolloutLogProbsByDefault() {
    try (PointerScope s = new PointerScope()) {
      // two sequences of 2 tokens; lp_θ = lp_old = 0, lp_roll = −ln 2, A = +1 (row 0) and −1 (row 1), ε = 0.2
      float ln2 = (float) Math.log(2);
      PolicyLoss.Batch b = new PolicyLoss.Batch(mat(2, 0, 0, 0, 0), mat(2, 0, 0, 0, 0), mat(2, 1, 1, -1, -1),
          mat(2, 1, 1, 1, 1), mat(2, -ln2, -ln2, -ln2, -ln2));
      PolicyLoss.Options gspo = PPO.withGspo(true).withMismatch(MismatchCorrection.TIS, 0.5, 5);
      // OpenRLHF (rollout_ratio): ρ_i = exp(mean(0 − (−ln 2))) = 2, no weights.
      // row 0: −min(2, 1.2) = −1.2; row 1: −min(−2, −1.2) = 2; sequence mean (−1.2 + 2)/2 = 0.4
      PolicyLoss.Result openRlhf = PolicyLoss.compute(gspo, b);
      assertArrayEquals(new float[] {-1.2f, -1.2f, 2f, 2f}, values(openRlhf.perTokenLoss()), 1e-5f);
      assertEquals(0.4, openRlhf.value(), 1e-5);
      assertEquals(0.5, openRlhf.clipFraction(), 0.0); // row 0's tokens: 1.2 < 2
      // token_weights (§8.2 + §8.5): ρ_i = exp(mean(0 − 0)) = 1, ℓ = −A, w_t = clip(exp(0 − (−ln 2)), 0.5, 5) = 2
      // row 0: −1·2 = −2; row 1: 1·2 = 2; mean 0
      PolicyLoss.Result ours = PolicyLoss.compute(gspo.withGspoCorrection(PolicyLoss.GspoCorrection.TOKEN_WEIGHTS), b);
      assertArrayEquals(new float[] {-2f, -2f, 2f, 2f}, values(ours.perTokenLoss()), 1e-5f);
      assertEquals(0.0, ours.value(), 1e-6);
      // without a mismatch correction both modes are plain GSPO against lp_old: ρ = 1, ℓ = −A, mean 0
      assertArrayEquals(new float[] {-1f, -1f, 1f, 1f},
          values(PolicyLoss.compute(PPO.withGspo(true), b).perTokenLoss()), 1e-6f);
      assertEquals(PolicyLoss.GspoCorrection.TOKEN_WEIGHTS, PolicyLoss.GspoCorrection.fromName("token_weights"));
      assertThrows(IllegalArgumentException.class, () -> PolicyLoss.GspoCorrection.fromName("tokens"));
    }
  }

  @Test
  void gspoRolloutRatioCarriesTheGradientOfThePolicyLogProbs() {
    try (PointerScope s = new PointerScope()) {
      // one sequence of 2 tokens, lp_θ = lp_roll = 0 (ρ = 1, inside the clip), A = 1:
      // L = −exp(mean(lp_θ − lp_roll)) → ∂L/∂lp_θ[t] = −ρ·A/2 = −0.5 per token
      Tensor lp = mat(1, 0, 0).requires_grad_(true);
      PolicyLoss.Batch b = new PolicyLoss.Batch(lp, mat(1, 3, 3), mat(1, 1, 1), mat(1, 1, 1), mat(1, 0, 0));
      PolicyLoss.compute(PPO.withGspo(true).withMismatch(MismatchCorrection.ICEPOP, 0.5, 5), b).loss().backward();
      assertArrayEquals(new float[] {-0.5f, -0.5f}, values(lp.grad()), 1e-6f);
    }
  }

  @Test
  void mismatchCorrectionWeightsTheLossPerToken() {
    try (PointerScope s = new PointerScope()) {
      // lp_θ = lp_old (ρ = 1), A = −1, so ℓ = 1 and w·ℓ = w; raw w = exp(lp_old − lp_roll) = 0.25, 1, 8
      Tensor old = row(0, 0, 0);
      Tensor roll = logs(4f, 1f, 0.125f);
      PolicyLoss.Batch b = new PolicyLoss.Batch(row(0, 0, 0), old, row(-1, -1, -1), row(1, 1, 1), roll);
      assertArrayEquals(new float[] {0.5f, 1f, 5f}, weighted(MismatchCorrection.TIS, b), 1e-5f);
      assertArrayEquals(new float[] {0f, 1f, 0f}, weighted(MismatchCorrection.ICEPOP, b), 1e-5f);
      // sequence mean of log w: (ln 0.25 + 0 + ln 8)/3 = ln(2)/3 → exp ≈ 1.26, inside: raw w kept
      assertArrayEquals(new float[] {0.25f, 1f, 8f}, weighted(MismatchCorrection.SEQUENCE_MASKED_TIS, b), 1e-5f);
      // with hi = 1.2 the whole sequence is dropped, but its tokens still count in N
      PolicyLoss.Result dropped = PolicyLoss.compute(
          PPO.withMismatch(MismatchCorrection.SEQUENCE_MASKED_TIS, 0.5, 1.2), b);
      assertArrayEquals(new float[] {0f, 0f, 0f}, values(dropped.perTokenLoss()), 0f);
      assertArrayEquals(new float[] {1f, 1f, 1f},
          values(PolicyLoss.compute(PPO, b).perTokenLoss()), 1e-6f);
      assertThrows(IllegalArgumentException.class, () -> PolicyLoss.compute(
          PPO.withMismatch(MismatchCorrection.TIS, 0.5, 5), PolicyLoss.Batch.of(row(0), row(0), row(1), row(1))));
    }
  }

  private static float[] weighted(MismatchCorrection kind, PolicyLoss.Batch b) {
    return values(PolicyLoss.compute(PPO.withMismatch(kind, 0.5, 5), b).perTokenLoss());
  }

  @Test
  void optionsRejectInvalidSettings() {
    assertThrows(IllegalArgumentException.class, () -> PPO.withDualClip(1.0));
    assertThrows(IllegalArgumentException.class, () -> PPO.withClip(1.0, 0.2));
    assertThrows(IllegalArgumentException.class, () -> PPO.withMismatch(MismatchCorrection.TIS, 5, 0.5));
    assertEquals(MismatchCorrection.ICEPOP, MismatchCorrection.fromName("icepop"));
    try (PointerScope s = new PointerScope()) {
      assertThrows(IllegalArgumentException.class,
          () -> PolicyLoss.Batch.of(row(0, 0), row(0, 0), row(1), row(1, 1)));
    }
  }
}
