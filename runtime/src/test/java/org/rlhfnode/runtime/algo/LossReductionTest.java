package org.rlhfnode.runtime.algo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;

class LossReductionTest {
  private static final float[] LOSS = {1, 2, 3, 4, 5, 6};

  private static double value(Tensor t) {
    return t.item_double();
  }

  @Test
  void tokenSequenceAndConstantModesOnAHandExample() {
    try (PointerScope s = new PointerScope()) {
      Tensor loss = Tensors.floats(LOSS, 2, 3);
      Tensor mask = Tensors.floats(new float[] {1, 1, 0, 1, 0, 0}, 2, 3);
      // token: (1 + 2 + 4) / 3; sequence: ((1 + 2) / 2 + 4 / 1) / 2; constant: 7 / (2 · 3)
      assertEquals(7.0 / 3, value(LossReduction.token(loss, mask)), 1e-6);
      assertEquals(2.75, value(LossReduction.sequence(loss, mask)), 1e-6);
      assertEquals(7.0 / 6, value(LossReduction.constant(loss, mask)), 1e-6);
      assertEquals(7.0 / (2 * 8), value(LossReduction.constant(loss, mask, 2, 8)), 1e-6);
    }
  }

  @Test
  void sequenceModeSkipsSequencesWithAnEmptyMask() {
    try (PointerScope s = new PointerScope()) {
      Tensor loss = Tensors.floats(LOSS, 2, 3);
      Tensor mask = Tensors.longs(new long[] {1, 1, 0, 0, 0, 0}, 2, 3);
      assertEquals(1, LossReduction.nonEmptySequences(mask));
      assertEquals(1.5, value(LossReduction.sequence(loss, mask)), 1e-6);
    }
  }

  @Test
  void anAllZeroMaskGivesZeroRatherThanNaN() {
    try (PointerScope s = new PointerScope()) {
      Tensor loss = Tensors.floats(LOSS, 2, 3);
      Tensor mask = Tensors.floats(new float[6], 2, 3);
      assertEquals(0.0, value(LossReduction.token(loss, mask)));
      assertEquals(0.0, value(LossReduction.sequence(loss, mask)));
    }
  }

  @Test
  void tokenModeMicroBatchesWithTheStepDenominatorAddUpToTheWholeBatch() {
    try (PointerScope s = new PointerScope()) {
      Tensor loss = Tensors.floats(LOSS, 2, 3);
      Tensor mask = Tensors.floats(new float[] {1, 1, 1, 1, 0, 0}, 2, 3);
      double n = LossReduction.tokens(mask);
      double whole = value(LossReduction.token(loss, mask));
      double parts = value(LossReduction.token(loss.narrow(0, 0, 1), mask.narrow(0, 0, 1), n))
          + value(LossReduction.token(loss.narrow(0, 1, 1), mask.narrow(0, 1, 1), n));
      assertEquals(2.5, whole, 1e-6);
      assertEquals(whole, parts, 1e-6);
      // a plain per-micro-batch mean would give (2 + 4) / 2 = 3 instead
      assertEquals(3.0, (value(LossReduction.token(loss.narrow(0, 0, 1), mask.narrow(0, 0, 1)))
          + value(LossReduction.token(loss.narrow(0, 1, 1), mask.narrow(0, 1, 1)))) / 2, 1e-6);
    }
  }

  @Test
  void rejectsAMaskOfAnotherShapeAndNonPositiveDenominators() {
    try (PointerScope s = new PointerScope()) {
      Tensor loss = Tensors.floats(LOSS, 2, 3);
      Tensor mask = Tensors.floats(new float[] {1, 1, 1}, 1, 3);
      assertThrows(IllegalArgumentException.class, () -> LossReduction.token(loss, mask));
      Tensor ok = Tensors.floats(new float[6], 2, 3);
      assertThrows(IllegalArgumentException.class, () -> LossReduction.token(loss, ok, 0));
      assertThrows(IllegalArgumentException.class, () -> LossReduction.sequence(loss, ok, -1));
      assertThrows(IllegalArgumentException.class, () -> LossReduction.constant(loss, ok, 2, 0));
    }
  }
}
