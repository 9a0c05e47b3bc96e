package org.rlhfnode.runtime.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * The architecture of a decoder-only model, read from a HuggingFace {@code config.json}. Every value
 * that changes the computation is checked here, so a model that loads computes what HF computes; a
 * value rlhf-node does not implement is a {@link ConfigException} naming the key.
 *
 * @param slidingWindow attention window W (a query sees W positions including itself), 0 = none
 * @param numExperts Mixtral's {@code num_local_experts}, 0 for dense models
 * @param eosTokenIds every id that ends generation ({@code eos_token_id} may be a list)
 */
public record ModelConfig(
    ModelFamily family,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    double rmsNormEps,
    double ropeTheta,
    RopeScaling ropeScaling,
    int maxPositionEmbeddings,
    boolean tieWordEmbeddings,
    boolean qkvBias,
    boolean outputBias,
    int slidingWindow,
    int numExperts,
    int numExpertsPerTok,
    Long bosTokenId,
    List<Long> eosTokenIds,
    Long padTokenId,
    String torchDtype) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public ModelConfig {
    positive("vocab_size", vocabSize);
    positive("hidden_size", hiddenSize);
    positive("intermediate_size", intermediateSize);
    positive("num_hidden_layers", numLayers);
    positive("num_attention_heads", numHeads);
    positive("num_key_value_heads", numKvHeads);
    positive("head_dim", headDim);
    if (numHeads % numKvHeads != 0) {
      throw new ConfigException("num_key_value_heads",
          "num_attention_heads (" + numHeads + ") % num_key_value_heads (" + numKvHeads + ") != 0");
    }
    if (headDim % 2 != 0) {
      throw new ConfigException("head_dim", "head_dim must be even for RoPE, got " + headDim);
    }
    if (!(rmsNormEps > 0)) {
      throw new ConfigException("rms_norm_eps", "rms_norm_eps must be > 0, got " + rmsNormEps);
    }
    if (!(ropeTheta > 0)) {
      throw new ConfigException("rope_theta", "rope_theta must be > 0, got " + ropeTheta);
    }
    if (slidingWindow < 0) {
      throw new ConfigException("sliding_window", "sliding_window must be >= 0, got " + slidingWindow);
    }
    if (numExperts > 0 && (numExpertsPerTok <= 0 || numExpertsPerTok > numExperts)) {
      throw new ConfigException("num_experts_per_tok", "num_experts_per_tok must be in 1.."
          + numExperts + ", got " + numExpertsPerTok);
    }
    checkId("bos_token_id", bosTokenId, vocabSize);
    checkId("pad_token_id", padTokenId, vocabSize);
    eosTokenIds = List.copyOf(eosTokenIds);
    for (Long id : eosTokenIds) {
      checkId("eos_token_id", id, vocabSize);
    }
  }

  private static void positive(String key, int v) {
    if (v <= 0) {
      throw new ConfigException(key, key + " must be > 0, got " + v);
    }
  }

  private static void checkId(String key, Long id, int vocab) {
    if (id != null && (id < 0 || id >= vocab)) {
      throw new ConfigException(key, key + " " + id + " is outside the vocabulary [0, " + vocab + ")");
    }
  }

  /** True for Mixtral-style sparse mixture-of-experts MLPs. */
  public boolean isMoe() {
    return numExperts > 0;
  }

  /** Reads {@code dir/config.json}; the error names the file and the key. */
  public static ModelConfig load(Path dir) {
    Path file = dir.resolve("config.json");
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(file));
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": not found (a HuggingFace model dir needs config.json)");
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(file + ": invalid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage());
    }
    ModelConfig parsed;
    try {
      parsed = ConfigJson.parse(root);
    } catch (ConfigException e) {
      throw new ConfigException(e.key(), file + ": " + e.getMessage());
    }
    return parsed.withGenerationEos(dir.resolve("generation_config.json"));
  }

  /**
   * Adds the EOS ids of {@code generation_config.json} (what HF's generate stops on; chat models often
   * list their end-of-turn token only there) to those of config.json.
   */
  private ModelConfig withGenerationEos(Path generationConfig) {
    if (!Files.exists(generationConfig)) {
      return this;
    }
    JsonNode eos;
    try {
      eos = JSON.readTree(Files.readString(generationConfig)).get("eos_token_id");
    } catch (IOException e) {
      throw new IllegalArgumentException(generationConfig + ": invalid JSON: " + e.getMessage());
    }
    java.util.LinkedHashSet<Long> ids = new java.util.LinkedHashSet<>(eosTokenIds);
    if (eos != null && eos.isIntegralNumber()) {
      ids.add(eos.longValue());
    } else if (eos != null && eos.isArray()) {
      eos.forEach(n -> ids.add(n.longValue()));
    }
    if (ids.size() == eosTokenIds.size()) {
      return this;
    }
    return new ModelConfig(family, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
        rmsNormEps, ropeTheta, ropeScaling, maxPositionEmbeddings, tieWordEmbeddings, qkvBias, outputBias,
        slidingWindow, numExperts, numExpertsPerTok, bosTokenId, List.copyOf(ids), padTokenId, torchDtype);
  }

  /** Parses the text of a {@code config.json}. */
  public static ModelConfig parse(String json) {
    try {
      return ConfigJson.parse(JSON.readTree(json));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("config.json: invalid JSON: " + e.getOriginalMessage());
    }
  }

  /** The HF {@code config.json} text for this config, with {@code torch_dtype} as given. */
  public String toJson(String dtypeName) {
    return toJson(dtypeName, java.util.Map.of());
  }

  /**
   * The {@code config.json} text with extra top-level keys (e.g. a reward model's {@code mean} and
   * {@code std} normalisation statistics).
   */
  public String toJson(String dtypeName, java.util.Map<String, ?> extra) {
    ObjectNode node = ConfigJson.write(this, dtypeName);
    extra.forEach((k, v) -> node.set(k, JSON.valueToTree(v)));
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The HF {@code generation_config.json} text (bos/eos/pad ids). */
  public String generationConfigJson() {
    ObjectNode node = JSON.createObjectNode();
    if (bosTokenId != null) {
      node.put("bos_token_id", bosTokenId);
    }
    ConfigJson.putEos(node, eosTokenIds);
    if (padTokenId != null) {
      node.put("pad_token_id", padTokenId);
    }
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Total parameter count of the (untied) checkpoint this config describes. */
  public long parameterCount() {
    long d = hiddenSize;
    long q = (long) numHeads * headDim;
    long kv = (long) numKvHeads * headDim;
    long attn = d * q + 2 * d * kv + q * d + (qkvBias ? q + 2 * kv : 0) + (outputBias ? d : 0);
    long mlp = 3 * d * intermediateSize;
    long ffn = isMoe() ? numExperts * mlp + d * numExperts : mlp;
    long layer = attn + ffn + 2 * d;
    long embed = (long) vocabSize * d;
    return embed + numLayers * layer + d + (tieWordEmbeddings ? 0 : embed);
  }
}
