package org.rlhfnode.node.ppo;

import java.util.ArrayList;
import java.util.List;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.data.DataOptions;

/**
 * The prompt sets of a PPO run, read from the settings with OpenRLHF's names. Training prompts:
 * {@code prompt_data} (files, directories or {@code org/name[@data_dir]} from the HuggingFace hub cache),
 * split {@code prompt_split}, each source capped at {@code max_samples}, sampled with
 * {@code prompt_data_probs} when given (seeded by {@code seed}, as {@code dataset_probs} mixes the offline
 * trainers' data) and capped at {@code max_samples} again. Eval prompts: {@code eval_prompt_data} at split
 * {@code eval_split} (default {@code train}, as OpenRLHF), at most {@code eval_max_samples}; without it,
 * an {@code eval_split} that is a fraction holds that share of the training prompts out, one that is a
 * name reads that split of {@code prompt_data}. Each prompt keeps its record's {@code label_key} value (""
 * when absent), which the reward sources receive with its samples. Errors name the flag.
 */
final class PromptSources {
  private PromptSources() {}

  static DataOptions train(TrainSettings s) {
    List<String> sources = s.list("ppo.prompt_data");
    if (sources.isEmpty()) {
      throw new IllegalArgumentException("--prompt_data is required");
    }
    DataOptions.Builder b = common(s, sources).datasetSplit(s.string("ppo.prompt_split"))
        .maxSamples(s.integer("data.max_samples"));
    List<String> probs = s.list("ppo.prompt_data_probs");
    if (!probs.isEmpty()) {
      b.datasetProbs(weights(probs, sources.size()));
    }
    if (s.optString("ppo.eval_prompt_data") == null) {
      b.evalSplit(s.optString("data.eval_split"));
    }
    return b.build();
  }

  /** The eval prompts of {@code eval_prompt_data}, or null without it. */
  static DataOptions eval(TrainSettings s) {
    List<String> sources = s.list("ppo.eval_prompt_data");
    if (sources.isEmpty()) {
      return null;
    }
    String split = s.optString("data.eval_split");
    boolean fraction = split != null && DataOptions.isFraction(split);
    if (fraction && Double.parseDouble(split.trim()) > 0) {
      throw new IllegalArgumentException("--eval_split " + split.trim() + " holds out a fraction of --prompt_data, "
          + "--eval_prompt_data is a separate eval set: give one of them (with --eval_prompt_data, --eval_split "
          + "may name its split)");
    }
    return common(s, sources).datasetSplit(split == null || fraction ? "train" : split.trim())
        .maxSamples(PpoSettings.positive(s, "ppo.eval_max_samples")).build();
  }

  private static DataOptions.Builder common(TrainSettings s, List<String> sources) {
    DataOptions.Builder b = DataOptions.builder().dataset(String.join(",", sources))
        .inputKey(s.optString("data.input_key")).applyChatTemplate(s.bool("data.apply_chat_template"))
        .labelKey(s.string("data.label_key")).seed(s.longValue("train.seed"));
    if (s.optString("data.input_template") != null) {
      b.inputTemplate(s.optString("data.input_template").replace("\\n", "\n"));
    }
    return b;
  }

  /** {@code prompt_data_probs}: one finite weight > 0 per {@code prompt_data} source. */
  private static List<Double> weights(List<String> probs, int sources) {
    if (probs.size() != sources) {
      throw new IllegalArgumentException("--prompt_data_probs has " + probs.size() + " weight(s) for " + sources
          + " --prompt_data source(s)");
    }
    List<Double> w = new ArrayList<>(probs.size());
    for (String p : probs) {
      double v;
      try {
        v = Double.parseDouble(p);
      } catch (NumberFormatException e) {
        v = Double.NaN;
      }
      if (!(Double.isFinite(v) && v > 0)) {
        throw new IllegalArgumentException("--prompt_data_probs must be numbers > 0, got " + String.join(",", probs));
      }
      w.add(v);
    }
    return w;
  }
}
