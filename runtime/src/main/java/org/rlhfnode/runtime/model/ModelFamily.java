package org.rlhfnode.runtime.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The HuggingFace decoder-only families rlhf-node implements. They share one transformer; a family
 * only decides the defaults of {@code config.json} and which optional parts exist (biases, sliding
 * window, mixture of experts).
 */
public enum ModelFamily {
  LLAMA("llama", "LlamaForCausalLM"),
  QWEN2("qwen2", "Qwen2ForCausalLM"),
  MISTRAL("mistral", "MistralForCausalLM"),
  MIXTRAL("mixtral", "MixtralForCausalLM");

  private final String modelType;
  private final String architecture;

  ModelFamily(String modelType, String architecture) {
    this.modelType = modelType;
    this.architecture = architecture;
  }

  /** The {@code model_type} value in {@code config.json}. */
  public String modelType() {
    return modelType;
  }

  /** The causal-LM class name HF writes in {@code architectures}. */
  public String architecture() {
    return architecture;
  }

  /** Comma-separated list of supported {@code model_type} values, for error messages. */
  public static String supportedList() {
    return Arrays.stream(values()).map(ModelFamily::modelType).collect(Collectors.joining(", "));
  }

  /** Finds a family by its {@code model_type}, or fails with the supported list. */
  public static ModelFamily fromModelType(String modelType) {
    for (ModelFamily f : values()) {
      if (f.modelType.equals(modelType)) {
        return f;
      }
    }
    throw new ConfigException(
        "model_type", "unsupported model_type '" + modelType + "' (supported: " + supportedList() + ")");
  }
}
