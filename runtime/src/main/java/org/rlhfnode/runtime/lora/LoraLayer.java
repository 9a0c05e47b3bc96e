package org.rlhfnode.runtime.lora;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.model.Linear;

/**
 * The LoRA update of one projection, as PEFT's {@code lora.Linear} computes it:
 * {@code y = x Wᵀ + b + dropout(x) Aᵀ Bᵀ · s} with A [r, in], B [out, r], s = alpha / r. A and B are
 * float32 leaves that require grad (PEFT's {@code autocast_adapter_dtype} default); the adapter
 * path runs in float32 and the sum is cast back to the base output's dtype, so a bf16 model keeps
 * bf16 activations while its adapters train in full precision.
 */
public final class LoraLayer implements Linear.Adapter {
  private final String module;
  private final Linear base;
  private final Tensor loraA; // [r, in] float32, requires grad
  private final Tensor loraB; // [out, r] float32, requires grad
  private final double scaling; // s = alpha / r
  private final LoraState state;

  /** Takes over one reference each on {@code loraA} and {@code loraB}, released by {@link #release}. */
  LoraLayer(String module, Linear base, Tensor loraA, Tensor loraB, double scaling, LoraState state) {
    this.module = module;
    this.base = base;
    this.loraA = loraA;
    this.loraB = loraB;
    this.scaling = scaling;
    this.state = state;
  }

  @Override
  public Tensor forward(Tensor x, Tensor baseOut) {
    if (!state.enabled()) {
      return baseOut;
    }
    Tensor h = state.dropout(x.to(ScalarType.Float)); // [..., in]
    Tensor delta = torch.linear(torch.linear(h, loraA), loraB).mul(new Scalar(scaling)); // [..., out]
    ScalarType outType = baseOut.scalar_type().intern();
    return outType == ScalarType.Float ? baseOut.add(delta) : baseOut.to(ScalarType.Float).add(delta).to(outType);
  }

  /** ΔW = s · B A: [out, in] float32, in the caller's scope (no graph is recorded under NoGradGuard). */
  public Tensor deltaWeight() {
    return torch.matmul(loraB, loraA).mul(new Scalar(scaling));
  }

  /**
   * W ← W + s · B A, summed in float32 and rounded once to W's dtype, in place, so every holder
   * of the weight tensor (the model's parameter map, {@code ModelSaver}) sees the merged value.
   * The caller runs this under {@code NoGradGuard} and detaches the adapter afterwards.
   */
  void mergeIntoBase() {
    Tensor w = base.weight(); // [out, in]
    ScalarType type = w.scalar_type().intern();
    w.copy_(w.to(ScalarType.Float).add(deltaWeight()).to(type));
  }

  void release() {
    loraA.releaseReference();
    loraB.releaseReference();
  }

  /** The HF module name, e.g. {@code model.layers.0.self_attn.q_proj}. */
  public String module() {
    return module;
  }

  /** The adapted projection. */
  public Linear base() {
    return base;
  }

  /** A [r, in]: float32 leaf with {@code requires_grad}. */
  public Tensor loraA() {
    return loraA;
  }

  /** B [out, r]: float32 leaf with {@code requires_grad}. */
  public Tensor loraB() {
    return loraB;
  }

  /** s = alpha / r. */
  public double scaling() {
    return scaling;
  }
}
