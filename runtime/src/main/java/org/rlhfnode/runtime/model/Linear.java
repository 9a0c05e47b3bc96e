package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/** {@code y = x Wᵀ + b} over HF's {@code [out, in]} weight layout; the bias is optional. */
public final class Linear {
  private final Tensor weight; // [out, in]
  private final Tensor bias; // [out] or null

  public Linear(Tensor weight, Tensor bias) {
    this.weight = weight;
    this.bias = bias;
  }

  /** Applies the projection to the last dimension of {@code x}. */
  public Tensor forward(Tensor x) {
    return bias == null ? torch.linear(x, weight) : torch.linear(x, weight, new TensorOptional(bias));
  }

  public Tensor weight() {
    return weight;
  }
}
