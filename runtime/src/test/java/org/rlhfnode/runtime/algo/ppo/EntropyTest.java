package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.mat;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.values;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;

class EntropyTest {
  @Test
  void uniformLogitsHaveEntropyLogVAndAOneHotNearZero() {
    try (PointerScope s = new PointerScope()) {
      Tensor logits = Tensors.floats(new float[] {3, 3, 3, 3, 50, 0, 0, 0}, 1, 2, 4);
      float[] h = values(Entropy.perToken(logits));
      assertEquals(Math.log(4), h[0], 1e-6);
      assertEquals(0.0, h[1], 1e-6);
    }
  }

  @Test
  void matchesMinusSumPLogPOnRandomLogits() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(47);
      Tensor logits = torch.randn(3, 5, 11).mul(new Scalar(4.0));
      Tensor logp = torch.log_softmax(logits, 2);
      Tensor reference = logp.exp().mul(logp).sum(2).neg(); // [B, T] −Σ p log p
      assertArrayEquals(values(reference), values(Entropy.perToken(logits)), 1e-5f);
    }
  }

  @Test
  void meanRunsOverActionTokensOnly() {
    try (PointerScope s = new PointerScope()) {
      // token 0 uniform over 4 (log 4), token 1 near one-hot, token 2 masked
      Tensor logits = Tensors.floats(new float[] {0, 0, 0, 0, 50, 0, 0, 0, 1, 2, 3, 4}, 1, 3, 4);
      Tensor mask = mat(1, 1, 1, 0);
      assertEquals(Math.log(4) / 2, Entropy.mean(logits, mask).item_double(), 1e-6);
      assertEquals(Math.log(4) / 4, Entropy.mean(logits, mask, 4).item_double(), 1e-6);
      assertThrows(IllegalArgumentException.class, () -> Entropy.perToken(mat(1, 1, 2)));
    }
  }
}
