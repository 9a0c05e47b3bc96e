package org.rlhfnode.runtime.algo.ppo;

import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.tensor.Tensors;

/** Small tensor builders shared by the PPO formula tests. */
final class Fixtures {
  private Fixtures() {}

  /** [1, T] from values. */
  static Tensor row(float... v) {
    return Tensors.floats(v, 1, v.length);
  }

  /** [B, T] from row-major values. */
  static Tensor mat(int rows, float... v) {
    return Tensors.floats(v, rows, v.length / rows);
  }

  /** [B] from values. */
  static Tensor vec(float... v) {
    return Tensors.floats(v, v.length);
  }

  /** Row-major float copy of any tensor. */
  static float[] values(Tensor t) {
    return Tensors.toFloats(t);
  }

  /** [1, T] of natural logs of the given ratios. */
  static Tensor logs(float... ratios) {
    float[] out = new float[ratios.length];
    for (int i = 0; i < ratios.length; i++) {
      out[i] = (float) Math.log(ratios[i]);
    }
    return row(out);
  }
}
