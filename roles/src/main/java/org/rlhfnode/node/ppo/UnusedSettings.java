package org.rlhfnode.node.ppo;

import java.util.List;
import java.util.Map;
import org.rlhfnode.node.settings.TrainSettings;

/** The offline trainers' settings that a PPO run refuses rather than ignores. */
final class UnusedSettings {
  private UnusedSettings() {}

  /**
   * Settings of the offline trainers that PPO has no use for, with what a PPO run takes instead: given to
   * a PPO run (as a flag or in the file) they are an error, never silently ignored.
   */
  private static final Map<String, String> NOT_FOR_PPO = new java.util.LinkedHashMap<>();

  static {
    NOT_FOR_PPO.put("lora.lora_path", "PPO attaches fresh adapters (--lora_rank, --lora_alpha, --target_modules, "
        + "--lora_dropout); to start from trained ones, merge them into the model given as --pretrain");
    String constant = "PPO's learning rates are constant (--actor_learning_rate, --critic_learning_rate); "
        + "no schedule or warm-up applies to them";
    NOT_FOR_PPO.put("train.lr_scheduler", constant);
    NOT_FOR_PPO.put("train.lr_warmup_ratio", constant);
    NOT_FOR_PPO.put("train.learning_rate", "PPO takes --actor_learning_rate and --critic_learning_rate");
    NOT_FOR_PPO.put("train.max_steps", "PPO stops after --max_iterations iterations or --num_episodes passes");
    NOT_FOR_PPO.put("data.max_len", "PPO bounds sequences with --prompt_max_len and --generate_max_len");
    String prompts = "PPO reads its prompts from --prompt_data (mixed by --prompt_data_probs) and held-out "
        + "prompts from --eval_prompt_data";
    for (String k : List.of("dataset", "dataset_probs", "eval_dataset", "dataset_split")) {
      NOT_FOR_PPO.put("data." + k, prompts);
    }
  }

  /** Refuses, naming it, the first setting given to this PPO run that PPO does not use. */
  static void refuse(TrainSettings s) {
    NOT_FOR_PPO.forEach((path, instead) -> {
      if (s.given(path)) {
        throw new IllegalArgumentException("--" + path.substring(path.indexOf('.') + 1) + " (" + path + ") is a "
            + "setting of the offline trainers (train sft|rm|dpo|kto|csft) that a PPO run does not use: " + instead);
      }
    });
  }

}
