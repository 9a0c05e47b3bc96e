package org.rlhfnode.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/** Maps {@code config.json} to {@link ModelConfig} and back, with each family's HF defaults. */
final class ConfigJson {
  private ConfigJson() {}

  static ModelConfig parse(JsonNode root) {
    if (!root.isObject()) {
      throw new ConfigException("(root)", "config.json must be a JSON object");
    }
    ModelFamily family = ModelFamily.fromModelType(requireText(root, "model_type"));
    rejectUnsupported(root, family);
    int hidden = requireInt(root, "hidden_size");
    int heads = requireInt(root, "num_attention_heads");
    int kvHeads = optInt(root, "num_key_value_heads", heads);
    int headDim = optInt(root, "head_dim", heads > 0 ? hidden / heads : 0);
    boolean qkvBias = family == ModelFamily.QWEN2 || optBool(root, "attention_bias", false);
    boolean oBias = family != ModelFamily.QWEN2 && optBool(root, "attention_bias", false);
    int experts = family == ModelFamily.MIXTRAL ? optInt(root, "num_local_experts", 8) : 0;
    int perTok = family == ModelFamily.MIXTRAL ? optInt(root, "num_experts_per_tok", 2) : 0;
    return new ModelConfig(family,
        requireInt(root, "vocab_size"), hidden, requireInt(root, "intermediate_size"),
        requireInt(root, "num_hidden_layers"), heads, kvHeads, headDim,
        optDouble(root, "rms_norm_eps", family == ModelFamily.MIXTRAL ? 1e-5 : 1e-6),
        optDouble(root, "rope_theta", family == ModelFamily.MIXTRAL ? 1e6 : 10000.0),
        ropeScaling(root.get("rope_scaling")),
        optInt(root, "max_position_embeddings", 2048),
        optBool(root, "tie_word_embeddings", false), qkvBias, oBias,
        slidingWindow(root, family), experts, perTok,
        optLong(root, "bos_token_id"), eosIds(root.get("eos_token_id")), optLong(root, "pad_token_id"),
        root.hasNonNull("torch_dtype") ? root.get("torch_dtype").asText() : "float32");
  }

  private static void rejectUnsupported(JsonNode root, ModelFamily family) {
    String act = root.hasNonNull("hidden_act") ? root.get("hidden_act").asText() : "silu";
    if (!act.equals("silu")) {
      throw new ConfigException("hidden_act", "unsupported hidden_act '" + act + "' (supported: silu)");
    }
    if (optBool(root, "mlp_bias", false)) {
      throw new ConfigException("mlp_bias", "mlp_bias=true is not supported (supported: false)");
    }
    if (root.hasNonNull("quantization_config")) {
      throw new ConfigException("quantization_config", "quantized checkpoints are not supported");
    }
    if (family == ModelFamily.QWEN2 && optBool(root, "use_sliding_window", false)) {
      throw new ConfigException("use_sliding_window",
          "qwen2 use_sliding_window=true is not supported (supported: false)");
    }
  }

  private static int slidingWindow(JsonNode root, ModelFamily family) {
    if (family != ModelFamily.MISTRAL && family != ModelFamily.MIXTRAL) {
      return 0;
    }
    JsonNode w = root.get("sliding_window");
    return w == null || w.isNull() ? 0 : intValue("sliding_window", w);
  }

  private static RopeScaling ropeScaling(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isObject()) {
      throw new ConfigException("rope_scaling", "rope_scaling must be an object or null");
    }
    String type = node.hasNonNull("rope_type") ? node.get("rope_type").asText()
        : node.hasNonNull("type") ? node.get("type").asText() : "default";
    if (type.equals("default")) {
      return null;
    }
    RopeScaling.Type t = RopeScaling.Type.parse(type);
    double factor = requireDouble(node, "factor", "rope_scaling.factor");
    if (t == RopeScaling.Type.LINEAR) {
      return RopeScaling.linear(factor);
    }
    return new RopeScaling(t, factor,
        requireDouble(node, "low_freq_factor", "rope_scaling.low_freq_factor"),
        requireDouble(node, "high_freq_factor", "rope_scaling.high_freq_factor"),
        (int) requireDouble(node, "original_max_position_embeddings",
            "rope_scaling.original_max_position_embeddings"));
  }

  private static List<Long> eosIds(JsonNode node) {
    List<Long> ids = new ArrayList<>();
    if (node == null || node.isNull()) {
      return ids;
    }
    if (node.isArray()) {
      node.forEach(n -> ids.add(longValue("eos_token_id", n)));
    } else {
      ids.add(longValue("eos_token_id", node));
    }
    return ids;
  }

  static ObjectNode write(ModelConfig c, String dtypeName) {
    ObjectNode n = JsonNodeFactory.instance.objectNode();
    n.putArray("architectures").add(c.family().architecture());
    n.put("model_type", c.family().modelType());
    n.put("vocab_size", c.vocabSize());
    n.put("hidden_size", c.hiddenSize());
    n.put("intermediate_size", c.intermediateSize());
    n.put("num_hidden_layers", c.numLayers());
    n.put("num_attention_heads", c.numHeads());
    n.put("num_key_value_heads", c.numKvHeads());
    n.put("head_dim", c.headDim());
    n.put("hidden_act", "silu");
    n.put("rms_norm_eps", c.rmsNormEps());
    n.put("rope_theta", c.ropeTheta());
    writeRope(n, c.ropeScaling());
    n.put("max_position_embeddings", c.maxPositionEmbeddings());
    n.put("tie_word_embeddings", c.tieWordEmbeddings());
    if (c.family() == ModelFamily.LLAMA) {
      n.put("attention_bias", c.qkvBias());
      n.put("mlp_bias", false);
    }
    if (c.family() == ModelFamily.MISTRAL || c.family() == ModelFamily.MIXTRAL) {
      if (c.slidingWindow() > 0) {
        n.put("sliding_window", c.slidingWindow());
      } else {
        n.putNull("sliding_window");
      }
    }
    if (c.isMoe()) {
      n.put("num_local_experts", c.numExperts());
      n.put("num_experts_per_tok", c.numExpertsPerTok());
    }
    if (c.bosTokenId() != null) {
      n.put("bos_token_id", c.bosTokenId());
    }
    putEos(n, c.eosTokenIds());
    if (c.padTokenId() != null) {
      n.put("pad_token_id", c.padTokenId());
    }
    n.put("torch_dtype", dtypeName);
    return n;
  }

  private static void writeRope(ObjectNode n, RopeScaling r) {
    if (r == null) {
      n.putNull("rope_scaling");
      return;
    }
    ObjectNode rs = n.putObject("rope_scaling");
    rs.put("rope_type", r.type().jsonName());
    rs.put("factor", r.factor());
    if (r.type() == RopeScaling.Type.LLAMA3) {
      rs.put("low_freq_factor", r.lowFreqFactor());
      rs.put("high_freq_factor", r.highFreqFactor());
      rs.put("original_max_position_embeddings", r.originalMaxPositions());
    }
  }

  static void putEos(ObjectNode n, List<Long> eos) {
    if (eos.size() == 1) {
      n.put("eos_token_id", eos.get(0));
    } else if (!eos.isEmpty()) {
      eos.forEach(n.putArray("eos_token_id")::add);
    }
  }

  private static String requireText(JsonNode root, String key) {
    JsonNode v = root.get(key);
    if (v == null || !v.isTextual()) {
      throw new ConfigException(key, "missing or non-string key '" + key + "'");
    }
    return v.asText();
  }

  private static int requireInt(JsonNode root, String key) {
    JsonNode v = root.get(key);
    if (v == null || v.isNull()) {
      throw new ConfigException(key, "missing key '" + key + "'");
    }
    return intValue(key, v);
  }

  private static int optInt(JsonNode root, String key, int def) {
    JsonNode v = root.get(key);
    return v == null || v.isNull() ? def : intValue(key, v);
  }

  private static Long optLong(JsonNode root, String key) {
    JsonNode v = root.get(key);
    return v == null || v.isNull() ? null : longValue(key, v);
  }

  private static int intValue(String key, JsonNode v) {
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw new ConfigException(key, "key '" + key + "' must be an integer, got " + v);
    }
    return v.intValue();
  }

  private static long longValue(String key, JsonNode v) {
    if (!v.isIntegralNumber()) {
      throw new ConfigException(key, "key '" + key + "' must be an integer, got " + v);
    }
    return v.longValue();
  }

  private static double optDouble(JsonNode root, String key, double def) {
    JsonNode v = root.get(key);
    if (v == null || v.isNull()) {
      return def;
    }
    if (!v.isNumber()) {
      throw new ConfigException(key, "key '" + key + "' must be a number, got " + v);
    }
    return v.doubleValue();
  }

  private static double requireDouble(JsonNode node, String key, String fullKey) {
    JsonNode v = node.get(key);
    if (v == null || !v.isNumber()) {
      throw new ConfigException(fullKey, "missing or non-numeric key '" + fullKey + "'");
    }
    return v.doubleValue();
  }

  private static boolean optBool(JsonNode root, String key, boolean def) {
    JsonNode v = root.get(key);
    if (v == null || v.isNull()) {
      return def;
    }
    if (!v.isBoolean()) {
      throw new ConfigException(key, "key '" + key + "' must be true or false, got " + v);
    }
    return v.booleanValue();
  }
}
