package org.rlhfnode.runtime.algo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;

class SftLossTest {
  @Test
  void lossIsTheMeanNegativeLogProbOverTargetTokensOnly() {
    try (PointerScope s = new PointerScope()) {
      Tensor lp = Tensors.floats(new float[] {-1, -2, -3, -0.5f, -4, -8}, 2, 3).requires_grad_(true);
      Tensor mask = Tensors.floats(new float[] {0, 1, 1, 1, 0, 0}, 2, 3);
      SftLoss.Result r = SftLoss.compute(lp, mask);
      assertEquals((2 + 3 + 0.5) / 3, r.value(), 1e-6);
      assertEquals(3, r.tokens());
      r.loss().backward();
      float third = -1f / 3;
      assertArrayEquals(new float[] {0, third, third, third, 0, 0}, Tensors.toFloats(lp.grad()), 1e-7f);
    }
  }

  @Test
  void accumulatedMicroBatchesGiveTheGradientOfTheWholeBatch() {
    try (PointerScope s = new PointerScope()) {
      float[] data = {-1, -2, -3, -0.5f, -4, -8};
      Tensor mask = Tensors.floats(new float[] {0, 1, 1, 1, 1, 0}, 2, 3);
      Tensor whole = Tensors.floats(data, 2, 3).requires_grad_(true);
      SftLoss.compute(whole, mask).loss().backward();
      Tensor split = Tensors.floats(data, 2, 3).requires_grad_(true);
      double n = LossReduction.tokens(mask);
      for (int i = 0; i < 2; i++) {
        SftLoss.compute(split.narrow(0, i, 1), mask.narrow(0, i, 1), n).loss().backward();
      }
      assertArrayEquals(Tensors.toFloats(whole.grad()), Tensors.toFloats(split.grad()), 1e-7f);
    }
  }
}
