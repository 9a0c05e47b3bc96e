package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code y = x Wᵀ + b} over HF's {@code [out, in]} weight layout; the bias is optional. An
 * {@link Adapter} (a LoRA update, for instance) can be attached to transform the output without
 * touching the weight.
 */
public final class Linear {
  /**
   * A change to a projection's output that lives beside its weight, such as a low-rank update.
   * It sees both the projection's input and the base output, so it can add to the output, scale
   * it, or (when switched off) return it unchanged.
   */
  @FunctionalInterface
  public interface Adapter {
    /**
     * @param x [..., in] the input of the projection
     * @param base [..., out] {@code x Wᵀ + b}
     * @return [..., out] the output the projection reports, in the dtype of {@code base}
     */
    Tensor forward(Tensor x, Tensor base);
  }

  private final Tensor weight; // [out, in]
  private final Tensor bias; // [out] or null
  // Volatile: adapters are attached on a training thread and read by generation threads.
  private volatile Adapter adapter;

  public Linear(Tensor weight, Tensor bias) {
    this.weight = weight;
    this.bias = bias;
  }

  /** Applies the projection (and the attached adapter, if any) to the last dimension of {@code x}. */
  public Tensor forward(Tensor x) {
    Tensor base = bias == null ? torch.linear(x, weight) : torch.linear(x, weight, new TensorOptional(bias));
    Adapter a = adapter;
    return a == null ? base : a.forward(x, base);
  }

  /**
   * Attaches {@code a}; a projection takes at most one adapter.
   *
   * @throws IllegalStateException if one is attached already
   */
  public synchronized void attach(Adapter a) {
    if (adapter != null) {
      throw new IllegalStateException("this projection already has an adapter");
    }
    adapter = java.util.Objects.requireNonNull(a, "adapter");
  }

  /** Removes the adapter, if any, and returns it (null when there was none). */
  public synchronized Adapter detach() {
    Adapter a = adapter;
    adapter = null;
    return a;
  }

  /** The attached adapter, or null. */
  public Adapter adapter() {
    return adapter;
  }

  public Tensor weight() {
    return weight;
  }

  /** The bias [out], or null when the projection has none. */
  public Tensor bias() {
    return bias;
  }

  /** Output features: rows of the weight. */
  public long outFeatures() {
    return weight.size(0);
  }

  /** Input features: columns of the weight. */
  public long inFeatures() {
    return weight.size(1);
  }
}
