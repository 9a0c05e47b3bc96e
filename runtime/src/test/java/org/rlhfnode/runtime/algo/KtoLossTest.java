package org.rlhfnode.runtime.algo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;

class KtoLossTest {
  private static Tensor vec(float... v) {
    return Tensors.floats(v, v.length);
  }

  private static Tensor flags(boolean... desirable) {
    long[] v = new long[desirable.length];
    for (int i = 0; i < v.length; i++) {
      v[i] = desirable[i] ? 1 : 0;
    }
    return Tensors.longs(v, v.length);
  }

  @Test
  void workedExample11DesirableAndUndesirableGiveTheSameValue() {
    try (PointerScope s = new PointerScope()) {
      // §13.11: β = 0.1, z = 0.5 (mismatched u = 1 and 0); desirable u = 2, undesirable u = −1
      KtoLoss.Result r = KtoLoss.compute(KtoLoss.Options.DEFAULTS, vec(2, -1), vec(0, 0), flags(true, false),
          vec(1, 0), vec(0, 0));
      assertEquals(0.5, r.anchor(), 1e-7);
      assertEquals(0.4625702, r.value(), 1e-6);
      for (boolean desirable : new boolean[] {true, false}) {
        Tensor u = vec(desirable ? 2 : -1);
        assertEquals(0.4625702, KtoLoss.compute(KtoLoss.Options.DEFAULTS, u, vec(0), flags(desirable), 0.5).value(), 1e-6);
      }
      assertEquals(0.2, r.chosenReward(), 1e-6);
      assertEquals(-0.1, r.rejectedReward(), 1e-6);
      assertEquals(1, r.desirable());
      assertEquals(1, r.undesirable());
    }
  }

  @Test
  void anchorClampsAtZeroAndCarriesNoGradient() {
    try (PointerScope s = new PointerScope()) {
      Tensor policyMis = vec(-3, 1).requires_grad_(true);
      KtoLoss.Result r = KtoLoss.compute(KtoLoss.Options.DEFAULTS, vec(2).requires_grad_(true), vec(0), flags(true),
          policyMis, vec(0, 0));
      assertEquals(0.0, r.anchor());
      assertEquals(1 / (1 + Math.exp(0.2)), r.value(), 1e-6);
      r.loss().backward();
      assertFalse(policyMis.grad().defined());
    }
  }

  @Test
  void weightsScaleEachSideAndTheMeanRunsOverAllExamples() {
    try (PointerScope s = new PointerScope()) {
      Tensor policy = vec(2, -1, 0.5f).requires_grad_(true);
      Tensor ref = vec(0, 0, 0).requires_grad_(true);
      KtoLoss.Options o = new KtoLoss.Options(0.1, 2.0, 0.5);
      KtoLoss.Result r = KtoLoss.compute(o, policy, ref, flags(true, false, false), 0.5);
      double sig = 1 / (1 + Math.exp(0.15)); // 1 − σ(0.15)
      double third = 0.5 / (1 + Math.exp(-0.1 * (0.5 - 0.5))); // u = z: 1 − σ(0) = 0.5, times λ_U
      assertEquals((2 * sig + 0.5 * sig + third * 1) / 3, r.value(), 1e-6);
      r.loss().backward();
      assertTrue(policy.grad().defined());
      assertFalse(ref.grad().defined());
      float[] g = Tensors.toFloats(policy.grad());
      assertTrue(g[0] < 0 && g[1] > 0 && g[2] > 0, java.util.Arrays.toString(g));
    }
  }

  @Test
  void mismatchedPairsTakeTheNextExamplesResponse() {
    assertArrayEquals(new long[] {1, 2, 3, 0}, KtoLoss.mismatchedResponseIndex(4));
  }
}
