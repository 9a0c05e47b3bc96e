package org.rlhfnode.runtime.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.TreeMap;

/**
 * The tensor names and shapes a HuggingFace llama / mistral / qwen2 / mixtral checkpoint must
 * hold, derived from its {@code config.json} alone, independently of the safetensors reader.
 */
final class ExpectedTensors {
  private ExpectedTensors() {}

  /** Tensor name to shape, sorted by name. */
  static Map<String, long[]> fromConfig(JsonNode config) {
    long hidden = config.get("hidden_size").asLong();
    long vocab = config.get("vocab_size").asLong();
    long heads = config.get("num_attention_heads").asLong();
    long kvHeads = config.get("num_key_value_heads").asLong();
    long headDim = config.has("head_dim") ? config.get("head_dim").asLong() : hidden / heads;
    Map<String, long[]> t = new TreeMap<>();
    t.put("model.embed_tokens.weight", new long[] {vocab, hidden});
    t.put("model.norm.weight", new long[] {hidden});
    if (!config.path("tie_word_embeddings").asBoolean(false)) {
      t.put("lm_head.weight", new long[] {vocab, hidden});
    }
    for (int layer = 0; layer < config.get("num_hidden_layers").asInt(); layer++) {
      String p = "model.layers." + layer + ".";
      t.put(p + "input_layernorm.weight", new long[] {hidden});
      t.put(p + "post_attention_layernorm.weight", new long[] {hidden});
      attention(config, t, p + "self_attn.", hidden, heads * headDim, kvHeads * headDim);
      mlp(config, t, p, hidden);
    }
    return t;
  }

  private static void attention(JsonNode config, Map<String, long[]> t, String p, long hidden, long qDim, long kvDim) {
    t.put(p + "q_proj.weight", new long[] {qDim, hidden});
    t.put(p + "k_proj.weight", new long[] {kvDim, hidden});
    t.put(p + "v_proj.weight", new long[] {kvDim, hidden});
    t.put(p + "o_proj.weight", new long[] {hidden, qDim});
    // Qwen2 always has q/k/v biases; llama's attention_bias adds them on all four projections.
    boolean qwen2 = config.get("model_type").asText().equals("qwen2");
    if (qwen2 || config.path("attention_bias").asBoolean(false)) {
      t.put(p + "q_proj.bias", new long[] {qDim});
      t.put(p + "k_proj.bias", new long[] {kvDim});
      t.put(p + "v_proj.bias", new long[] {kvDim});
    }
    if (!qwen2 && config.path("attention_bias").asBoolean(false)) {
      t.put(p + "o_proj.bias", new long[] {hidden});
    }
  }

  private static void mlp(JsonNode config, Map<String, long[]> t, String p, long hidden) {
    long inter = config.get("intermediate_size").asLong();
    if (config.get("model_type").asText().equals("mixtral")) {
      long experts = config.get("num_local_experts").asLong();
      t.put(p + "block_sparse_moe.gate.weight", new long[] {experts, hidden});
      for (int e = 0; e < experts; e++) {
        String x = p + "block_sparse_moe.experts." + e + ".";
        t.put(x + "w1.weight", new long[] {inter, hidden});
        t.put(x + "w2.weight", new long[] {hidden, inter});
        t.put(x + "w3.weight", new long[] {inter, hidden});
      }
    } else {
      t.put(p + "mlp.gate_proj.weight", new long[] {inter, hidden});
      t.put(p + "mlp.up_proj.weight", new long[] {inter, hidden});
      t.put(p + "mlp.down_proj.weight", new long[] {hidden, inter});
    }
  }
}
