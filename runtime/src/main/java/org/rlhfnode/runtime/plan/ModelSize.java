package org.rlhfnode.runtime.plan;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.rlhfnode.runtime.hub.HubCache;
import org.rlhfnode.runtime.hub.HubModels;
import org.rlhfnode.runtime.io.CheckpointWeights;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ParameterLayout;

/**
 * The size of one model as the planner needs it: its architecture, the exact parameter count Ψ and the
 * parameters of its largest module (what ZeRO-3 gathers at once). Ψ is the sum over the tensors
 * {@link ParameterLayout} implies (so GQA, MoE experts and tied embeddings count as loaded), plus the
 * {@code score} head [1, h] of reward and critic models; when a directory has weights, their names decide
 * the heads exactly as {@code ModelLoader} does (a checkpoint with {@code score.weight} and no
 * {@code lm_head.weight} has no LM head).
 *
 * @param source the directory or preset name it was read from
 * @param params Ψ, every parameter counted once
 * @param largestModuleParams the parameters of the largest module (weight + bias of one linear or embedding)
 */
public record ModelSize(String source, ModelConfig config, long params, long largestModuleParams) {
  public ModelSize {
    if (params < 1 || largestModuleParams < 1 || largestModuleParams > params) {
      throw new IllegalArgumentException(source + ": parameter counts must satisfy 1 ≤ largest module ≤ total");
    }
  }

  /**
   * A model directory (its {@code config.json}, and its safetensors headers when present), local or
   * {@code org/name[@revision]} from the HuggingFace hub cache ({@link HubModels}), or a
   * {@link ModelPresets preset} name; {@code scoreHead} adds the reward/value head that the reward and
   * critic roles put on a causal LM. A directory wins over a preset of the same name. Errors name
   * {@code flag} or the missing file.
   */
  public static ModelSize resolve(String spec, boolean scoreHead, String flag) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("--" + flag + " is required");
    }
    HubCache cache = HubCache.fromEnvironment();
    Optional<Path> dir = HubModels.find(spec, cache).filter(Files::isDirectory);
    if (dir.isPresent()) {
      return ofDirectory(dir.get(), scoreHead);
    }
    if (ModelPresets.contains(spec)) {
      return of(ModelPresets.canonical(spec), ModelPresets.config(spec), scoreHead, false);
    }
    throw new IllegalArgumentException("--" + flag + " '" + spec + "': not a preset (known: "
        + String.join(", ", ModelPresets.names()) + ", llama-34b); " + HubModels.looked(spec, cache));
  }

  /** A HuggingFace model directory: {@code config.json} (required) and the weights' tensor names if any. */
  public static ModelSize ofDirectory(Path dir, boolean scoreHead) {
    ModelConfig config = ModelConfig.load(dir);
    boolean hasWeights = Files.isRegularFile(dir.resolve("model.safetensors"))
        || Files.isRegularFile(dir.resolve("model.safetensors.index.json"));
    if (!hasWeights) {
      return of(dir.toString(), config, scoreHead, false);
    }
    try (CheckpointWeights weights = CheckpointWeights.open(dir)) {
      boolean score = weights.contains(ParameterLayout.SCORE);
      boolean scoreOnly = score && !weights.contains(ParameterLayout.LM_HEAD);
      return of(dir.toString(), config, scoreHead || score, scoreOnly);
    }
  }

  /** The model a config describes, with a score head when asked and without the LM head when {@code scoreOnly}. */
  public static ModelSize of(String source, ModelConfig config, boolean scoreHead, boolean scoreOnly) {
    Map<String, long[]> layout = new LinkedHashMap<>(ParameterLayout.of(config));
    if (scoreHead || scoreOnly) {
      layout.put(ParameterLayout.SCORE, new long[] {1, config.hiddenSize()});
    }
    if (scoreOnly) {
      layout.remove(ParameterLayout.LM_HEAD);
    }
    long total = 0;
    Map<String, Long> modules = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : layout.entrySet()) {
      long n = numel(e.getValue());
      total = Math.addExact(total, n);
      modules.merge(module(e.getKey()), n, Long::sum);
    }
    long largest = modules.values().stream().mapToLong(Long::longValue).max().orElse(0);
    return new ModelSize(source, config, total, largest);
  }

  private static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /** {@code model.layers.0.self_attn.q_proj.weight} → {@code model.layers.0.self_attn.q_proj}. */
  private static String module(String tensor) {
    int dot = tensor.lastIndexOf('.');
    return dot < 0 ? tensor : tensor.substring(0, dot);
  }

  /** Layers L. */
  public int layers() {
    return config.numLayers();
  }

  /** Hidden size h. */
  public int hidden() {
    return config.hiddenSize();
  }
}
