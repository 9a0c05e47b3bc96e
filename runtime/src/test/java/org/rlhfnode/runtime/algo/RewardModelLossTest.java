package org.rlhfnode.runtime.algo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;

class RewardModelLossTest {
  private static Tensor vec(float... v) {
    return Tensors.floats(v, v.length);
  }

  @Test
  void workedExample9WithAndWithoutMargin() {
    try (PointerScope s = new PointerScope()) {
      // algorithms.md §13.9: r_c = 1, r_r = 0 → 0.3132617; margin 0.5 → 0.4740770
      assertEquals(0.3132617, RewardModelLoss.compute(vec(1), vec(0)).value(), 1e-6);
      RewardModelLoss.Result m = RewardModelLoss.compute(RewardModelLoss.Kind.SIGMOID, vec(1), vec(0), vec(0.5f));
      assertEquals(0.4740770, m.value(), 1e-6);
      assertEquals(1.0, m.accuracy());
    }
  }

  @Test
  void lossIsAveragedOverPairsAndAccuracyCountsStrictWins() {
    try (PointerScope s = new PointerScope()) {
      RewardModelLoss.Result r = RewardModelLoss.compute(vec(1, 0.5f, 2, -1), vec(0, 0.5f, 3, -3));
      double expected = (Math.log1p(Math.exp(-1)) + Math.log(2) + Math.log1p(Math.exp(1)) + Math.log1p(Math.exp(-2))) / 4;
      assertEquals(expected, r.value(), 1e-6);
      assertEquals(0.5, r.accuracy()); // the tie does not count
      assertEquals(0.625, r.chosenReward(), 1e-7);
      assertEquals(0.125, r.rejectedReward(), 1e-7);
    }
  }

  @Test
  void logExpFormEqualsTheSigmoidFormAndRefusesAMargin() {
    try (PointerScope s = new PointerScope()) {
      Tensor c = vec(1, -2, 30, 0.25f);
      Tensor r = vec(0, 1, -40, 0.5f);
      assertEquals(RewardModelLoss.compute(c, r).value(),
          RewardModelLoss.compute(RewardModelLoss.Kind.LOG_EXP, c, r, null).value(), 1e-6);
      assertThrows(IllegalArgumentException.class,
          () -> RewardModelLoss.compute(RewardModelLoss.Kind.LOG_EXP, c, r, vec(1, 1, 1, 1)));
    }
  }

  @Test
  void gradientIsMinusSigmoidOfMinusTheDifferenceOverP() {
    try (PointerScope s = new PointerScope()) {
      Tensor c = vec(1, 0).requires_grad_(true);
      Tensor r = vec(0, 0).requires_grad_(true);
      RewardModelLoss.compute(c, r).loss().backward();
      float g0 = (float) (-1 / (1 + Math.exp(1)) / 2);
      assertArrayEquals(new float[] {g0, -0.25f}, Tensors.toFloats(c.grad()), 1e-7f);
      assertArrayEquals(new float[] {-g0, 0.25f}, Tensors.toFloats(r.grad()), 1e-7f);
    }
  }

  @Test
  void normalisationUsesTheSampleStdWithAFloor() {
    RewardModelLoss.Normalisation n = RewardModelLoss.Normalisation.of(new double[] {1, 2, 3, 4});
    assertEquals(2.5, n.mean(), 1e-12);
    assertEquals(Math.sqrt(5.0 / 3), n.std(), 1e-12);
    assertEquals(1e-8, RewardModelLoss.Normalisation.of(new double[] {7, 7}).std());
    assertThrows(IllegalArgumentException.class, () -> RewardModelLoss.Normalisation.of(new double[] {1}));
    try (PointerScope s = new PointerScope()) {
      assertArrayEquals(new float[] {(float) (-1.5 / n.std()), 0}, Tensors.toFloats(n.apply(vec(1, 2.5f))), 1e-6f);
    }
  }
}
