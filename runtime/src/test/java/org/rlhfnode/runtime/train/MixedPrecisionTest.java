package org.rlhfnode.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;

class MixedPrecisionTest {

  @Test
  void mastersAccumulateUpdatesThatBf16AloneWouldRoundAway() {
    try (PointerScope scope = new PointerScope()) {
      // bf16 has 8 bits of mantissa: around 1.0 its spacing is 2^-7 ≈ 0.0078, so 1e-3 steps vanish
      Tensor weight = Tensors.floats(new float[] {1f, 1f}, 2).to(ScalarType.BFloat16);
      weight.requires_grad_(true);
      weight.retainReference();
      try (MixedPrecision mp = new MixedPrecision(Map.of("w", weight))) {
        Tensor master = mp.masters().get("w");
        for (int step = 0; step < 50; step++) {
          try (PointerScope s = new PointerScope()) {
            weight.sum().backward(); // d(sum)/dw = 1
            mp.gradientsToMasters();
            assertTrue(!weight.grad().defined(), "the bf16 gradient is moved, not kept");
            try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
              master.sub_(master.grad().mul(new Scalar(1e-3))); // plain SGD, lr 1e-3
            }
            master.mutable_grad().reset();
            mp.mastersToCompute();
          }
        }
        assertEquals(0.95f, Tensors.toFloats(master)[0], 1e-5f);
        assertEquals(0.95f, Tensors.toFloats(weight)[0], 4e-3f); // bf16 rounding of 0.95
        Tensor naive = Tensors.floats(new float[] {1f}, 1).to(ScalarType.BFloat16);
        for (int step = 0; step < 50; step++) {
          naive = naive.sub(new Scalar(1e-3)).to(ScalarType.BFloat16);
        }
        assertEquals(1.0f, Tensors.toFloats(naive)[0], 0f, "without masters every update rounds away");
      }
      weight.releaseReference();
    }
  }
}
