package org.rlhfnode.runtime.lora;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * A model's weights with adapters folded in, as a rollout engine serves a LoRA policy: each adapted
 * projection W [out, in] becomes W + s·B A (float32, cast back to W's dtype, as {@link
 * LoraModel#mergeAndUnload} folds them), every other weight is the base tensor itself, shared. So an
 * engine keeps the base model once and builds each weight version from the adapters alone.
 */
public final class LoraMerge {
  private LoraMerge() {}

  /**
   * @param base the base weights by HF name (unchanged)
   * @param adapters A [r, in] and B [out, r] of each adapted projection, by their {@link PeftNames}
   * @param scaling s = alpha / r
   * @return every name of {@code base}: the same tensor, or for an adapted projection's weight a new one
   *     (in the caller's {@code PointerScope})
   * @throws IllegalArgumentException for a name that is no adapter tensor, a projection the base lacks,
   *     an A without its B, or shapes that do not fit W
   */
  public static Map<String, Tensor> merged(Map<String, Tensor> base, Map<String, Tensor> adapters, double scaling) {
    Map<String, Tensor> a = new LinkedHashMap<>();
    Map<String, Tensor> b = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : adapters.entrySet()) {
      String name = e.getKey();
      String module = module(name, PeftNames.LORA_A_SUFFIX);
      if (module != null) {
        a.put(module, e.getValue());
      } else if ((module = module(name, PeftNames.LORA_B_SUFFIX)) != null) {
        b.put(module, e.getValue());
      } else {
        throw new IllegalArgumentException("adapter tensor " + name + " is neither a LoRA A ("
            + PeftNames.PREFIX + "<module>" + PeftNames.LORA_A_SUFFIX + ") nor a LoRA B");
      }
    }
    if (!a.keySet().equals(b.keySet())) {
      throw new IllegalArgumentException("adapters must come as A and B pairs; A for " + a.keySet() + ", B for "
          + b.keySet());
    }
    Map<String, Tensor> out = new LinkedHashMap<>(base);
    for (Map.Entry<String, Tensor> e : a.entrySet()) {
      String weight = e.getKey() + ".weight";
      Tensor w = base.get(weight);
      if (w == null) {
        throw new IllegalArgumentException("adapter for " + e.getKey() + ": the base model has no " + weight);
      }
      Tensor loraA = e.getValue();
      Tensor loraB = b.get(e.getKey());
      long[] ws = Tensors.shape(w);
      long[] as = Tensors.shape(loraA);
      long[] bs = Tensors.shape(loraB);
      if (as.length != 2 || bs.length != 2 || as[1] != ws[1] || bs[0] != ws[0] || as[0] != bs[1]) {
        throw new IllegalArgumentException("adapter for " + e.getKey() + ": A " + Arrays.toString(as) + " and B "
            + Arrays.toString(bs) + " do not fit W " + Arrays.toString(ws));
      }
      ScalarType dtype = w.scalar_type().intern();
      Tensor delta = loraB.to(ScalarType.Float).matmul(loraA.to(ScalarType.Float)).mul(new Scalar(scaling)); // [out, in]
      out.put(weight, w.to(ScalarType.Float).add(delta.to(w.device(), ScalarType.Float)).to(dtype));
    }
    return out;
  }

  private static String module(String name, String suffix) {
    return name.startsWith(PeftNames.PREFIX) && name.endsWith(suffix)
        ? name.substring(PeftNames.PREFIX.length(), name.length() - suffix.length()) : null;
  }
}
