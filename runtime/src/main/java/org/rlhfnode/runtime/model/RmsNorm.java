package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * RMSNorm as HF computes it: {@code x / sqrt(mean(x²) + eps)} in float32, cast back to the input
 * dtype, then scaled by the weight.
 */
public final class RmsNorm {
  private final Tensor weight; // [d]
  private final double eps;

  public RmsNorm(Tensor weight, double eps) {
    this.weight = weight;
    this.eps = eps;
  }

  /** Normalises the last dimension of {@code x} [.., d]. */
  public Tensor forward(Tensor x) {
    ScalarType inputType = x.scalar_type().intern();
    Tensor x32 = inputType == ScalarType.Float ? x : x.to(ScalarType.Float);
    Tensor variance = x32.pow(new org.bytedeco.pytorch.Scalar(2.0)).mean(new long[] {-1}, true,
        new org.bytedeco.pytorch.ScalarTypeOptional());
    Tensor normed = x32.mul(variance.add(new org.bytedeco.pytorch.Scalar(eps)).rsqrt());
    return weight.mul(inputType == ScalarType.Float ? normed : normed.to(inputType));
  }
}
