package org.rlhfnode.runtime.algo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;

class TokenLogProbsTest {
  /** log softmax(row / τ)[k] in double. */
  private static double logSoftmax(double[] row, int k, double tau) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : row) {
      max = Math.max(max, v / tau);
    }
    double sum = 0;
    for (double v : row) {
      sum += Math.exp(v / tau - max);
    }
    return row[k] / tau - max - Math.log(sum);
  }

  @Test
  void entryTIsTheLogProbOfTokenTPlusOneAndTheLastPositionIsUnused() {
    try (PointerScope s = new PointerScope()) {
      float nan = Float.NaN;
      // B = 1, L = 3, V = 3; the last position predicts nothing, so NaN there must not leak.
      Tensor logits = Tensors.floats(new float[] {1, 2, 0.5f, -1, 0, 3, nan, nan, nan}, 1, 3, 3);
      Tensor ids = Tensors.longs(new long[] {2, 1, 0}, 1, 3);
      float[] lp = Tensors.toFloats(TokenLogProbs.of(logits, ids));
      assertEquals(2, lp.length);
      assertEquals(logSoftmax(new double[] {1, 2, 0.5}, 1, 1), lp[0], 1e-6);
      assertEquals(logSoftmax(new double[] {-1, 0, 3}, 0, 1), lp[1], 1e-6);
    }
  }

  @Test
  void temperatureDividesTheLogitsBeforeTheSoftmax() {
    try (PointerScope s = new PointerScope()) {
      Tensor logits = Tensors.floats(new float[] {1, 2, 0.5f, 0, 0, 0}, 1, 2, 3);
      Tensor ids = Tensors.longs(new long[] {0, 2}, 1, 2);
      float[] lp = Tensors.toFloats(TokenLogProbs.of(logits, ids, 0.7));
      assertEquals(logSoftmax(new double[] {1, 2, 0.5}, 2, 0.7), lp[0], 1e-6);
    }
  }

  @Test
  void resultIsFloat32OfShapeBByLMinusOneWhateverTheLogitDtype() {
    try (PointerScope s = new PointerScope()) {
      Tensor logits = Tensors.floats(new float[2 * 4 * 5], 2, 4, 5).to(ScalarType.BFloat16);
      Tensor ids = Tensors.longs(new long[8], 2, 4);
      Tensor lp = TokenLogProbs.of(logits, ids);
      assertArrayEquals(new long[] {2, 3}, Tensors.shape(lp));
      assertEquals(ScalarType.Float, lp.scalar_type().intern());
      for (float v : Tensors.toFloats(lp)) {
        assertEquals(-Math.log(5), v, 1e-6);
      }
    }
  }

  @Test
  void rejectsMismatchedShapesAndNonPositiveTemperature() {
    try (PointerScope s = new PointerScope()) {
      Tensor logits = Tensors.floats(new float[12], 1, 4, 3);
      assertThrows(IllegalArgumentException.class, () -> TokenLogProbs.of(logits, Tensors.longs(new long[3], 1, 3)));
      assertThrows(IllegalArgumentException.class, () -> TokenLogProbs.of(logits, Tensors.longs(new long[4], 1, 4), 0));
    }
  }
}
