package org.rlhfnode.runtime.algo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;

class PreferenceLossTest {
  private static Tensor vec(float... v) {
    return Tensors.floats(v, v.length);
  }

  /** Sequence scores with the given sums and lengths. */
  private static SequenceScores scores(float[] sums, float[] lengths) {
    return new SequenceScores(vec(sums), vec(lengths));
  }

  private static PreferenceLoss.Result example10(PreferenceLoss.Options o) {
    // §13.10: S_θ = (−10, −12), S_ref = (−11, −11), h = 2
    return PreferenceLoss.compute(o, scores(new float[] {-10}, new float[] {5}),
        scores(new float[] {-12}, new float[] {4}), vec(-11), vec(-11));
  }

  @Test
  void workedExample10DpoCdpoAndIpo() {
    try (PointerScope s = new PointerScope()) {
      assertEquals(0.5981389, example10(PreferenceLoss.Options.dpo(0.1)).value(), 1e-6);
      assertEquals(0.6181389, example10(PreferenceLoss.Options.cdpo(0.1, 0.1)).value(), 1e-6);
      assertEquals(9.0, example10(PreferenceLoss.Options.ipo(0.1)).value(), 1e-5);
    }
  }

  @Test
  void workedExample10ImplicitRewardsAccuracyAndMargin() {
    try (PointerScope s = new PointerScope()) {
      PreferenceLoss.Result r = example10(PreferenceLoss.Options.dpo(0.1));
      assertEquals(0.1, r.chosenReward(), 1e-6);
      assertEquals(-0.1, r.rejectedReward(), 1e-6);
      assertEquals(1.0, r.accuracy());
      assertEquals(0.2, r.margin(), 1e-6);
      assertEquals(2.0, r.nll(), 1e-6); // −(−10 / 5)
    }
  }

  @Test
  void dpoLossIsLog2WhenPolicyEqualsReference() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(7);
      Tensor c = torch.randn(16).mul(new org.bytedeco.pytorch.Scalar(20.0));
      Tensor r = torch.randn(16).mul(new org.bytedeco.pytorch.Scalar(20.0));
      Tensor len = torch.ones(16);
      PreferenceLoss.Result res = PreferenceLoss.compute(PreferenceLoss.Options.dpo(0.1),
          new SequenceScores(c, len), new SequenceScores(r, len), c.clone(), r.clone());
      assertEquals(Math.log(2), res.value(), 1e-6);
      assertEquals(0.0, res.accuracy());
      assertEquals(0.0, res.margin(), 1e-6);
    }
  }

  @Test
  void cdpoWithZeroSmoothingEqualsDpoExactly() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(11);
      Tensor len = torch.ones(32);
      SequenceScores c = new SequenceScores(torch.randn(32).mul(new org.bytedeco.pytorch.Scalar(30.0)), len);
      SequenceScores r = new SequenceScores(torch.randn(32).mul(new org.bytedeco.pytorch.Scalar(30.0)), len);
      Tensor rc = torch.randn(32);
      Tensor rr = torch.randn(32);
      double dpo = PreferenceLoss.compute(PreferenceLoss.Options.dpo(0.5), c, r, rc, rr).value();
      double cdpo = PreferenceLoss.compute(new PreferenceLoss.Options(0.5, 0.0, false, false, 0), c, r, rc, rr).value();
      assertEquals(dpo, cdpo, 0.0);
      double smoothed = PreferenceLoss.compute(PreferenceLoss.Options.cdpo(0.5, 0.2), c, r, rc, rr).value();
      assertFalse(dpo == smoothed);
    }
  }

  @Test
  void lengthAveragedIpoAndTheNllTermUsePerTokenMeans() {
    try (PointerScope s = new PointerScope()) {
      // means: policy (−10/5, −12/4) = (−2, −3); reference (−11/5, −11/4) = (−2.2, −2.75)
      // h = (−2 + 3) − (−2.2 + 2.75) = 0.45; IPO with β = 0.1: (0.45 − 5)² = 20.7025
      PreferenceLoss.Options o = new PreferenceLoss.Options(0.1, 0, true, true, 0);
      assertEquals(20.7025, example10(o).value(), 1e-4);
      // DPO + 0.5 · NLL, NLL = 2 from the chosen mean of −2
      assertEquals(0.5981389 + 0.5 * 2, example10(PreferenceLoss.Options.dpo(0.1).withNll(0.5)).value(), 1e-6);
    }
  }

  @Test
  void gradientsReachThePolicyResponseTokensButNeverTheReference() {
    try (PointerScope s = new PointerScope()) {
      // one pair, 3 positions each, the first is prompt (masked)
      Tensor lpC = Tensors.floats(new float[] {-9, -4, -6}, 1, 3).requires_grad_(true);
      Tensor lpR = Tensors.floats(new float[] {-9, -5, -7}, 1, 3).requires_grad_(true);
      Tensor mask = Tensors.floats(new float[] {0, 1, 1}, 1, 3);
      Tensor refC = vec(-11).requires_grad_(true);
      Tensor refR = vec(-11).requires_grad_(true);
      PreferenceLoss.compute(PreferenceLoss.Options.dpo(0.1), SequenceScores.of(lpC, mask),
          SequenceScores.of(lpR, mask), refC, refR).loss().backward();
      // h = (−10 + 12) − 0 = 2: dℓ/dS_c = −β σ(−βh), dℓ/dS_r = +β σ(−βh)
      float g = (float) (0.1 / (1 + Math.exp(0.2)));
      assertArrayEquals(new float[] {0, -g, -g}, Tensors.toFloats(lpC.grad()), 1e-7f);
      assertArrayEquals(new float[] {0, g, g}, Tensors.toFloats(lpR.grad()), 1e-7f);
      assertFalse(refC.grad().defined());
      assertFalse(refR.grad().defined());
    }
  }

  @Test
  void optionsRejectInvalidCombinations() {
    assertThrows(IllegalArgumentException.class, () -> PreferenceLoss.Options.dpo(0));
    assertThrows(IllegalArgumentException.class, () -> PreferenceLoss.Options.cdpo(0.1, 0.5));
    assertThrows(IllegalArgumentException.class, () -> new PreferenceLoss.Options(0.1, 0.1, true, false, 0));
    assertThrows(IllegalArgumentException.class, () -> new PreferenceLoss.Options(0.1, 0, false, true, 0));
    assertThrows(IllegalArgumentException.class, () -> PreferenceLoss.Options.dpo(0.1).withNll(-1));
  }
}
