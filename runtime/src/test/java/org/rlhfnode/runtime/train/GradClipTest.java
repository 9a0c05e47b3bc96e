package org.rlhfnode.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;

class GradClipTest {
  @Test
  void clipsTheGlobalNormOfAKnownVectorAndReturnsThePreClipNorm() {
    try (PointerScope s = new PointerScope()) {
      Tensor a = Tensors.floats(new float[] {3, 0}, 2);
      Tensor b = Tensors.floats(new float[] {0, 0, 4, 0}, 2, 2);
      assertEquals(5.0, GradClip.clip(List.of(a, b), 1.0), 1e-6);
      float k = (float) (1.0 / (5.0 + 1e-6));
      assertArrayEquals(new float[] {3 * k, 0}, Tensors.toFloats(a), 1e-7f);
      assertArrayEquals(new float[] {0, 0, 4 * k, 0}, Tensors.toFloats(b), 1e-7f);
      assertEquals(1.0, GradClip.globalNorm(List.of(a, b)), 1e-6);
    }
  }

  @Test
  void leavesGradientsBelowTheBoundOrWithoutABoundUntouched() {
    try (PointerScope s = new PointerScope()) {
      Tensor a = Tensors.floats(new float[] {3, 4}, 2);
      assertEquals(5.0, GradClip.clip(List.of(a), 10.0), 1e-6);
      assertEquals(5.0, GradClip.clip(List.of(a), 0.0), 1e-6);
      assertArrayEquals(new float[] {3, 4}, Tensors.toFloats(a));
      assertEquals(0.0, GradClip.clip(List.of(), 1.0));
    }
  }

  @Test
  void aNonFiniteNormIsReportedAndNothingIsScaled() {
    try (PointerScope s = new PointerScope()) {
      Tensor a = Tensors.floats(new float[] {Float.POSITIVE_INFINITY, 1}, 2);
      Tensor b = Tensors.floats(new float[] {2}, 1);
      assertTrue(Double.isInfinite(GradClip.clip(List.of(a, b), 1.0)));
      assertArrayEquals(new float[] {2}, Tensors.toFloats(b));
    }
  }

  @Test
  void clipsTheGradientsOfParametersAndSkipsThoseWithout() {
    try (PointerScope s = new PointerScope()) {
      Tensor p = Tensors.floats(new float[] {1, 1}, 2).requires_grad_(true);
      Tensor q = Tensors.floats(new float[] {1}, 1).requires_grad_(true);
      p.mul(Tensors.floats(new float[] {6, 8}, 2)).sum().backward();
      assertEquals(10.0, GradClip.clipParameters(List.of(p, q), 2.0), 1e-5);
      assertArrayEquals(new float[] {1.2f, 1.6f}, Tensors.toFloats(p.grad()), 1e-6f);
    }
  }

  @Test
  void bf16GradientsAreNormedInFloat32() {
    try (PointerScope s = new PointerScope()) {
      float[] ones = new float[3000];
      java.util.Arrays.fill(ones, 1f);
      Tensor g = Tensors.floats(ones, 3000).to(ScalarType.BFloat16);
      // √3000 = 54.772…; a bf16 result would be 54.75
      assertEquals(Math.sqrt(3000), GradClip.globalNorm(List.of(g)), 1e-4);
    }
  }
}
