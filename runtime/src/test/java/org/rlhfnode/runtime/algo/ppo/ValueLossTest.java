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

class ValueLossTest {
  @Test
  void workedExample8ClippedValueLoss() {
    try (PointerScope s = new PointerScope()) {
      ValueLoss.Result r = ValueLoss.compute(ValueLoss.Options.clip(0.2),
          new ValueLoss.Batch(row(0.8f), row(0.5f), row(0.9f), row(1)));
      assertEquals(0.02, r.value(), 1e-6);
      assertEquals(1.0, r.clipFraction(), 0.0);
      // clipping off: ½ (0.8 − 0.9)² = 0.005
      assertEquals(0.005, ValueLoss.compute(ValueLoss.Options.unclipped(),
          new ValueLoss.Batch(row(0.8f), row(0.5f), row(0.9f), row(1))).value(), 1e-6);
    }
  }

  @Test
  void withClippingOffTheLossIsHalfTheMaskedMeanSquaredError() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(43);
      Tensor v = torch.randn(4, 8);
      Tensor old = torch.randn(4, 8);
      Tensor ret = torch.randn(4, 8);
      Tensor mask = torch.rand(4, 8).gt(new Scalar(0.25));
      ValueLoss.Result r = ValueLoss.compute(ValueLoss.Options.unclipped(), new ValueLoss.Batch(v, old, ret, mask));
      assertEquals(0.5 * Shapes.maskedMean(v.sub(ret).square(), mask), r.value(), 1e-6);
      assertEquals(0.0, r.clipFraction(), 0.0);
      // the default ε_v = 0.5 can only raise it
      double clipped = ValueLoss.compute(ValueLoss.Options.DEFAULTS, new ValueLoss.Batch(v, old, ret, mask)).value();
      assertTrue(clipped >= r.value() - 1e-7);
    }
  }

  @Test
  void gradientReachesTheCriticOnlyWhereTheUnclippedTermIsTheLargerOne() {
    try (PointerScope s = new PointerScope()) {
      // token 0: example 8, clipped term 0.04 dominates → no gradient; token 1: V_φ − V_old = 0.1 inside the
      // clip, both terms equal → ∂/∂V = (V − R) / N; token 2: masked
      Tensor v = row(0.8f, 0.6f, 3f).requires_grad_(true);
      ValueLoss.Batch b = new ValueLoss.Batch(v, row(0.5f, 0.5f, 0f), row(0.9f, 1.0f, 0f), row(1, 1, 0));
      ValueLoss.compute(ValueLoss.Options.clip(0.2), b).loss().backward();
      assertArrayEquals(new float[] {0f, (0.6f - 1.0f) / 2, 0f}, values(v.grad()), 1e-6f);
    }
  }

  @Test
  void optionsRejectANonPositiveClip() {
    assertThrows(IllegalArgumentException.class, () -> ValueLoss.Options.clip(0));
    assertEquals(0.5, ValueLoss.Options.DEFAULTS.valueClip());
  }
}
