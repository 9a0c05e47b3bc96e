package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.row;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.values;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class KlEstimatorTest {
  @Test
  void workedExample1AtLogRatioOneTenth() {
    try (PointerScope s = new PointerScope()) {
      Tensor x = row(0.1f);
      assertEquals(0.1, values(KlEstimator.K1.fromLogRatio(x))[0], 1e-7);
      assertEquals(0.005, values(KlEstimator.K2.fromLogRatio(x))[0], 1e-7);
      assertEquals(0.0048374, values(KlEstimator.K3.fromLogRatio(x))[0], 1e-7);
      // the same through between(lp, lp_ref)
      assertEquals(0.0048374, values(KlEstimator.K3.between(row(-1.2f), row(-1.3f)))[0], 1e-6);
    }
  }

  @Test
  void everyEstimatorIsZeroForIdenticalLogProbs() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(3);
      Tensor lp = torch.randn(4, 9).mul(new Scalar(3.0));
      for (KlEstimator e : KlEstimator.values()) {
        for (float v : values(e.between(lp, lp.clone()))) {
          assertEquals(0f, v, 0f, e.optionName());
        }
      }
    }
  }

  @Test
  void k3AndK2AreNeverNegativeWhileK1Can() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(5);
      Tensor x = torch.randn(16, 32).mul(new Scalar(2.0));
      for (float v : values(KlEstimator.K3.fromLogRatio(x))) {
        assertTrue(v >= 0, "k3 = " + v);
      }
      for (float v : values(KlEstimator.K2.fromLogRatio(x))) {
        assertTrue(v >= 0, "k2 = " + v);
      }
      float min = Float.MAX_VALUE;
      for (float v : values(KlEstimator.K1.fromLogRatio(x))) {
        min = Math.min(min, v);
      }
      assertTrue(min < 0);
    }
  }

  @Test
  void resultsAreClampedToPlusMinusTen() {
    try (PointerScope s = new PointerScope()) {
      Tensor x = row(-30f, -5f, 30f);
      assertArrayEquals(new float[] {-10, -5, 10}, values(KlEstimator.K1.fromLogRatio(x)), 1e-6f);
      assertArrayEquals(new float[] {10, 10, 10}, values(KlEstimator.K2.fromLogRatio(x)), 1e-6f);
      // k3(−5) = e^5 − 6 = 142.4 → 10; k3(30) = 29 + e^−30 → 10
      assertArrayEquals(new float[] {10, 10, 10}, values(KlEstimator.K3.fromLogRatio(x)), 1e-6f);
    }
  }

  @Test
  void k3GradientFlowsToThePolicyButNotTheReference() {
    try (PointerScope s = new PointerScope()) {
      Tensor lp = row(-1.0f, -2.0f).requires_grad_(true);
      Tensor ref = row(-1.5f, -2.0f).requires_grad_(true);
      KlEstimator.K3.between(lp, ref).sum().backward();
      // d/dx (e^{−x} − 1 + x) = 1 − e^{−x}; x = 0.5 and 0
      assertArrayEquals(new float[] {(float) (1 - Math.exp(-0.5)), 0f}, values(lp.grad()), 1e-6f);
      assertTrue(!ref.grad().defined());
    }
  }

  @Test
  void parsesOpenRlhfNamesAndRejectsOthers() {
    assertEquals(KlEstimator.K2, KlEstimator.fromName("k2"));
    assertEquals(KlEstimator.K3, KlEstimator.fromName(" K3 "));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KlEstimator.fromName("k4"));
    assertTrue(e.getMessage().contains("kl_estimator"));
  }
}
