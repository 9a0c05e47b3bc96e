package org.rlhfnode.runtime.lora;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.model.CausalLm;

/**
 * PEFT's {@code adapter_config.json} for a plain LoRA: written with the keys PEFT writes (sorted,
 * as {@code json.dumps(sort_keys=True)} does), read back strictly. Options that change the
 * arithmetic and are not implemented here (DoRA, rsLoRA, per-module ranks, trained biases,
 * {@code modules_to_save}, ...) are rejected on read instead of being silently ignored.
 */
final class AdapterConfigJson {
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  /** Keys that must hold their PEFT default (false, null, "none" or empty) for plain LoRA. */
  private static final List<String> MUST_BE_DEFAULT = List.of("use_dora", "use_rslora", "fan_in_fan_out",
      "bias", "lora_bias", "rank_pattern", "alpha_pattern", "layers_to_transform", "modules_to_save",
      "exclude_modules", "target_parameters", "use_qalora", "trainable_token_indices");

  private AdapterConfigJson() {}

  /** The file's text for {@code config}, whose targets are written as {@code targetModules}. */
  static String format(LoraConfig config, List<String> targetModules, String baseModelNameOrPath) {
    ObjectNode root = MAPPER.createObjectNode();
    root.putObject("alpha_pattern");
    root.putNull("auto_mapping");
    root.put("base_model_name_or_path", baseModelNameOrPath);
    root.put("bias", "none");
    root.put("fan_in_fan_out", false);
    root.put("inference_mode", true);
    root.put("init_lora_weights", true);
    root.putNull("layers_pattern");
    root.putNull("layers_to_transform");
    if (config.alpha() == Math.rint(config.alpha()) && Math.abs(config.alpha()) < Integer.MAX_VALUE) {
      root.put("lora_alpha", (int) config.alpha()); // PEFT types it int; keep 16, not 16.0
    } else {
      root.put("lora_alpha", config.alpha());
    }
    root.put("lora_dropout", config.dropout());
    root.putNull("modules_to_save");
    root.put("peft_type", "LORA");
    root.put("r", config.rank());
    root.putObject("rank_pattern");
    root.putNull("revision");
    ArrayNode targets = root.putArray("target_modules");
    targetModules.forEach(targets::add);
    root.put("task_type", "CAUSAL_LM");
    root.put("use_dora", false);
    root.put("use_rslora", false);
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode adapter_config.json", e);
    }
  }

  /**
   * Reads {@code file} into a config. A {@code target_modules} string other than all-linear is
   * PEFT's whole-name regular expression; it is resolved against {@code model} into module names.
   *
   * @throws CheckpointFormatException naming the file and key for anything invalid or unsupported
   */
  static LoraConfig read(Path file, CausalLm model) {
    JsonNode root = parse(file);
    String peftType = root.path("peft_type").asText("");
    if (!peftType.equals("LORA")) {
      throw new CheckpointFormatException(file, "peft_type is '" + peftType + "', only LORA adapters are supported");
    }
    for (String key : MUST_BE_DEFAULT) {
      if (!isDefault(root.get(key))) {
        throw new CheckpointFormatException(file, key + " = " + root.get(key) + " is not supported (plain LoRA only)");
      }
    }
    JsonNode r = root.get("r");
    if (r == null || !r.canConvertToExactIntegral() || !r.canConvertToInt()) {
      throw new CheckpointFormatException(file, "r must be an integer, got " + r);
    }
    double alpha = number(file, root, "lora_alpha", Double.NaN);
    double dropout = number(file, root, "lora_dropout", 0);
    try {
      List<String> targets = targets(file, root.get("target_modules"), model);
      return new LoraConfig(r.asInt(), alpha, dropout, targets);
    } catch (IllegalArgumentException e) {
      throw new CheckpointFormatException(file, e.getMessage(), e);
    }
  }

  private static JsonNode parse(Path file) {
    JsonNode root;
    try {
      root = MAPPER.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      throw new CheckpointFormatException(file, "not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new CheckpointFormatException(file, "expected a JSON object");
    }
    return root;
  }

  private static boolean isDefault(JsonNode v) {
    return v == null || v.isNull() || (v.isBoolean() && !v.asBoolean()) || (v.isContainerNode() && v.isEmpty())
        || (v.isTextual() && v.asText().equals("none"));
  }

  private static double number(Path file, JsonNode root, String key, double absent) {
    JsonNode v = root.get(key);
    if ((v == null || v.isNull()) && !Double.isNaN(absent)) {
      return absent;
    }
    if (v == null || !v.isNumber()) {
      throw new CheckpointFormatException(file, key + " must be a number, got " + v);
    }
    return v.asDouble();
  }

  private static List<String> targets(Path file, JsonNode v, CausalLm model) {
    if (v != null && v.isTextual()) {
      String s = v.asText();
      return s.equalsIgnoreCase(LoraConfig.ALL_LINEAR) ? List.of(LoraConfig.ALL_LINEAR)
          : LoraTargets.matchPattern(model, s);
    }
    if (v == null || !v.isArray()) {
      throw new CheckpointFormatException(file, "target_modules must be a list of module names or a string, got " + v);
    }
    List<String> out = new ArrayList<>();
    for (JsonNode t : v) {
      if (!t.isTextual()) {
        throw new CheckpointFormatException(file, "target_modules holds " + t + ", not a module name");
      }
      out.add(t.asText());
    }
    return out;
  }
}
