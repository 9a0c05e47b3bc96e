package org.rlhfnode.node.role;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.settings.TrainSettings;

/** PPO settings over the bundled tiny Llama and prompts, for role tests. */
public final class PpoTestSettings {
  public static final Path REPO = Path.of(System.getProperty("rlhf.repo"));
  public static final Path TINY = REPO.resolve("examples").resolve("tiny-llama");
  public static final Path PROMPTS = REPO.resolve("examples").resolve("data").resolve("prompts.jsonl");

  private PpoTestSettings() {}

  /** The tiny model as policy, reference, reward model and critic, saving to {@code save}; extra flags win. */
  public static PpoSettings of(Path save, String... extra) {
    return PpoSettings.from(TrainSettings.parse(args(save, extra), "train ppo"));
  }

  public static List<String> args(Path save, String... extra) {
    List<String> a = new ArrayList<>(List.of("--pretrain", TINY.toString(), "--reward_pretrain", TINY.toString(),
        "--prompt_data", PROMPTS.toString(), "--input_key", "input", "--save_path", save.toString(),
        "--rollout_batch_size", "2", "--n_samples_per_prompt", "2", "--generate_max_len", "4",
        "--train_batch_size", "4", "--micro_train_batch_size", "2", "--actor_learning_rate", "1e-3",
        "--critic_learning_rate", "1e-3", "--threads", "1", "--temperature", "1.0"));
    a.addAll(List.of(extra));
    return a;
  }
}
