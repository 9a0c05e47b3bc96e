package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code y = x Wᵀ + b} over HF's {@code [out, in]} weight layout; the bias is optional. An
 * {@link Adapter} (a LoRA update, for instance) can be attached to transform the output without
 * touching the weight.
 *
 * <p>Under tensor parallelism a projection holds this rank's slice of the weight ({@link #slice}):
 * column-parallel (its output features) or row-parallel ({@link #rowParallel}: its input features;
 * the partial outputs are summed over the ranks and the bias added once, after the sum).
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
  private final boolean sliced; // a tensor-parallel slice: adapters would see only part of it
  private final TensorParallel sumOver; // row-parallel: partial outputs are summed over these ranks; else null
  // Volatile: adapters are attached on a training thread and read by generation threads.
  private volatile Adapter adapter;

  public Linear(Tensor weight, Tensor bias) {
    this(weight, bias, false, null);
  }

  private Linear(Tensor weight, Tensor bias, boolean sliced, TensorParallel sumOver) {
    this.weight = weight;
    this.bias = bias;
    this.sliced = sliced;
    this.sumOver = sumOver;
  }

  /**
   * This rank's slice of a tensor-parallel projection whose output needs no reduction here: a
   * column-parallel one, or a row-parallel one whose caller sums several outputs before one all-reduce.
   */
  static Linear slice(Tensor weight, Tensor bias) {
    return new Linear(weight, bias, true, null);
  }

  /**
   * A row-parallel projection: {@code y = Σ_ranks x_r W_rᵀ + b}, with {@code weight} [out, in/N] this
   * rank's input columns and {@code bias} [out] whole (added once, after the all-reduce).
   */
  static Linear rowParallel(Tensor weight, Tensor bias, TensorParallel tp) {
    return new Linear(weight, bias, true, java.util.Objects.requireNonNull(tp, "tp"));
  }

  /** Applies the projection (and the attached adapter, if any) to the last dimension of {@code x}. */
  public Tensor forward(Tensor x) {
    if (sumOver != null) {
      Tensor partial = torch.linear(x, weight).contiguous(); // [..., out] this rank's input columns only
      sumOver.allReduceSum(partial);
      return bias == null ? partial : partial.add(bias);
    }
    Tensor base = bias == null ? torch.linear(x, weight) : torch.linear(x, weight, new TensorOptional(bias));
    Adapter a = adapter;
    return a == null ? base : a.forward(x, base);
  }

  /**
   * Attaches {@code a}; a projection takes at most one adapter.
   *
   * @throws IllegalStateException if one is attached already, or this is a tensor-parallel slice
   */
  public synchronized void attach(Adapter a) {
    if (sliced) {
      throw new IllegalStateException("adapters cannot attach to a tensor-parallel slice of a projection");
    }
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

  /** Output features: rows of the weight (this rank's, under tensor parallelism). */
  public long outFeatures() {
    return weight.size(0);
  }

  /** Input features: columns of the weight (this rank's, under tensor parallelism). */
  public long inFeatures() {
    return weight.size(1);
  }
}
