package org.rlhfnode.runtime.plan;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.rlhfnode.runtime.model.ModelConfig;

/**
 * Architectures the planner knows by name, so a run can be sized without downloading weights. Each is
 * the {@code config.json} of the published checkpoint (parsed by {@link ModelConfig#parse}, like a real
 * one), with its exact parameter count from {@code ParameterLayout}:
 *
 * <pre>
 * preset                      checkpoint                     h     i      L   a   kv  V       params
 * llama-7b                    meta-llama/Llama-2-7b-hf       4096  11008  32  32  32  32000    6,738,415,616
 * llama-13b                   meta-llama/Llama-2-13b-hf      5120  13824  40  40  40  32000   13,015,864,320
 * codellama-34b (llama-34b)   codellama/CodeLlama-34b-hf     8192  22016  48  64   8  32000   33,743,970,304
 * llama-70b                   meta-llama/Llama-2-70b-hf      8192  28672  80  64   8  32000   68,976,648,192
 * llama3-8b                   meta-llama/Meta-Llama-3-8B     4096  14336  32  32   8  128256   8,030,261,248
 * llama3-70b                  meta-llama/Meta-Llama-3-70B    8192  28672  80  64   8  128256  70,553,706,496
 * </pre>
 * (h hidden, i intermediate, L layers, a attention heads, kv key/value heads, V vocabulary; all untied.)
 */
public final class ModelPresets {
  private static final Map<String, String> CONFIGS = new LinkedHashMap<>();
  private static final Map<String, String> ALIASES = Map.of("llama-34b", "codellama-34b", "llama2-7b", "llama-7b",
      "llama2-13b", "llama-13b", "llama2-70b", "llama-70b");

  static {
    CONFIGS.put("llama-7b", llama(4096, 11008, 32, 32, 32, 32000, 4096, 10000.0, 1, 2));
    CONFIGS.put("llama-13b", llama(5120, 13824, 40, 40, 40, 32000, 4096, 10000.0, 1, 2));
    CONFIGS.put("codellama-34b", llama(8192, 22016, 48, 64, 8, 32000, 16384, 1000000.0, 1, 2));
    CONFIGS.put("llama-70b", llama(8192, 28672, 80, 64, 8, 32000, 4096, 10000.0, 1, 2));
    CONFIGS.put("llama3-8b", llama(4096, 14336, 32, 32, 8, 128256, 8192, 500000.0, 128000, 128001));
    CONFIGS.put("llama3-70b", llama(8192, 28672, 80, 64, 8, 128256, 8192, 500000.0, 128000, 128001));
  }

  private ModelPresets() {}

  private static String llama(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab,
      int maxPositions, double ropeTheta, int bos, int eos) {
    return "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"hidden_act\":\"silu\","
        + "\"hidden_size\":" + hidden + ",\"intermediate_size\":" + intermediate + ",\"num_hidden_layers\":" + layers
        + ",\"num_attention_heads\":" + heads + ",\"num_key_value_heads\":" + kvHeads + ",\"vocab_size\":" + vocab
        + ",\"max_position_embeddings\":" + maxPositions + ",\"rms_norm_eps\":1e-05,\"rope_theta\":" + ropeTheta
        + ",\"tie_word_embeddings\":false,\"attention_bias\":false,\"bos_token_id\":" + bos
        + ",\"eos_token_id\":" + eos + ",\"torch_dtype\":\"bfloat16\"}";
  }

  /** The canonical preset names (aliases not included). */
  public static Set<String> names() {
    return CONFIGS.keySet();
  }

  /** Whether {@code name} (any case, or an alias such as {@code llama-34b}) is a preset. */
  public static boolean contains(String name) {
    return CONFIGS.containsKey(canonical(name));
  }

  /** The architecture of a preset; unknown names are an error listing the known ones. */
  public static ModelConfig config(String name) {
    String json = CONFIGS.get(canonical(name));
    if (json == null) {
      throw new IllegalArgumentException("unknown model preset '" + name + "' (known: " + String.join(", ", names())
          + ", llama-34b)");
    }
    return ModelConfig.parse(json);
  }

  /** The preset's canonical name ({@code llama-34b} → {@code codellama-34b}). */
  public static String canonical(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    return ALIASES.getOrDefault(n, n);
  }
}
