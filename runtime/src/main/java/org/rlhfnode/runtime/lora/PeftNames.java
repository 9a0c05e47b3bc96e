package org.rlhfnode.runtime.lora;

/**
 * Tensor names of a LoRA adapter as PEFT's {@code save_pretrained} writes them (adapter name
 * removed): {@code base_model.model.<HF module>.lora_A.weight} and {@code ...lora_B.weight}. The
 * trainable parameters carry the same names, so optimizer state and adapter files agree.
 */
public final class PeftNames {
  /** What PEFT puts before the HF module name: {@code PeftModel.base_model} (the tuner) {@code .model}. */
  public static final String PREFIX = "base_model.model.";
  public static final String LORA_A_SUFFIX = ".lora_A.weight";
  public static final String LORA_B_SUFFIX = ".lora_B.weight";

  private PeftNames() {}

  /** {@code base_model.model.<module>.lora_A.weight}: A [r, in]. */
  public static String loraA(String module) {
    return PREFIX + module + LORA_A_SUFFIX;
  }

  /** {@code base_model.model.<module>.lora_B.weight}: B [out, r]. */
  public static String loraB(String module) {
    return PREFIX + module + LORA_B_SUFFIX;
  }
}
