package org.rlhfnode.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.cluster.PpoResumeTest;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.settings.SettingScopes;
import org.rlhfnode.node.settings.TrainSettings;

/**
 * Each command accepts exactly the settings it uses ({@link SettingScopes}): every setting of reference.conf
 * belongs to some command; a PPO run's settings ({@link PpoSettings#from}) and {@code rejection-sample} read
 * every setting of their scope; a setting a command does not use is a one-line error naming it and the
 * commands that have it, given as a flag or in the {@code --config} file.
 */
public class RunSettingsUseTest {
  private static final Path REPO = Path.of(System.getProperty("rlhf.repo"));
  private static final Path TINY = REPO.resolve("examples/tiny-llama");

  @TempDir
  Path tmp;

  private Path rewardModel() {
    return PpoResumeTest.rewardModel(tmp.resolve("rm"));
  }

  @Test
  void everySettingBelongsToACommand() {
    com.typesafe.config.Config rlhf = TrainSettings.parse(List.of()).asConfig().getConfig("rlhf");
    int settings = 0;
    for (var section : rlhf.root().entrySet()) { // run settings; not the wire protocol's nor system properties
      if (section.getValue() instanceof com.typesafe.config.ConfigObject o && !section.getKey().equals("messages")) {
        for (String leaf : o.keySet()) {
          String key = section.getKey() + "." + leaf;
          assertTrue(!SettingScopes.commandsOf(key).isEmpty(), key + " has no command");
          settings++;
        }
      }
    }
    assertTrue(settings > 140, settings + " settings");
  }

  @Test
  void aPpoRunReadsEverySettingItAccepts() {
    Path rm = rewardModel();
    List<String> ppo = List.of("--pretrain", TINY.toString(), "--reward_pretrain", rm.toString(), "--prompt_data",
        REPO.resolve("examples/data/ppo_prompts.jsonl").toString(), "--input_key", "input", "--save_path",
        tmp.resolve("ppo").toString(), "--overlong_buffer_len", "4", "--dynamic_filtering", "--remote_rm_url",
        "http://127.0.0.1:9/reward", "--eval_prompt_data", REPO.resolve("examples/data/ppo_eval_prompts.jsonl")
            .toString());
    TrainSettings s = TrainSettings.parse(ppo, SettingScopes.PPO);
    PpoSettings.from(s);
    // weight_sync.* is read as a section (WeightSyncSettings), ppo.metrics_port by PpoNode as the node starts
    assertReadsItsScope(SettingScopes.PPO, s.read(),
        k -> k.startsWith("weight_sync.") || k.equals("ppo.metrics_port"));
  }

  @Test
  void rejectionSamplingReadsEverySettingItAccepts() throws Exception {
    Path rm = rewardModel();
    TrainSettings s = TrainSettings.parse(List.of("--pretrain", TINY.toString(), "--reward_pretrain", rm.toString(),
        "--dataset", REPO.resolve("examples/data/prompts.jsonl").toString(), "--input_key", "input",
        "--apply_chat_template", "--max_samples", "4", "--n_samples_per_prompt", "2", "--generate_max_len", "4",
        "--output", tmp.resolve("rs.jsonl").toString()), SettingScopes.REJECTION_SAMPLE);
    assertEquals(0, new RejectionSampleCommand().run(s));
    assertEquals(SettingScopes.scopeOf(SettingScopes.REJECTION_SAMPLE), new TreeSet<>(s.read()));
  }

  @Test
  void aSettingTheCommandDoesNotUseIsRefusedNamingWhoHasIt() throws Exception {
    assertRefused(SettingScopes.SFT, "--chosen_key", "c", "--chosen_key (data.chosen_key) is a setting of train dpo, "
        + "train rm that train sft does not use");
    assertRefused(SettingScopes.SFT, "--actor_learning_rate", "1e-6", "--actor_learning_rate (ppo.actor_learning_rate)"
        + " is a setting of a PPO run (train ppo, node mode, plan) that train sft does not use");
    assertRefused(SettingScopes.DPO, "--margin_loss", null, "--margin_loss (algo.margin_loss) is a setting of train rm");
    assertRefused(SettingScopes.REJECTION_SAMPLE, "--learning_rate", "1e-5", "--learning_rate (train.learning_rate) "
        + "is a setting of the offline trainers (train sft|rm|dpo|kto|csft) that rejection-sample does not use");
    assertRefused(SettingScopes.PPO, "--lr_warmup_ratio", "0.1", "--lr_warmup_ratio (train.lr_warmup_ratio) is a "
        + "setting of the offline trainers (train sft|rm|dpo|kto|csft) that a PPO run does not use: PPO's learning");
    assertRefused(SettingScopes.NODE, "--device", "cpu", "--device (model.device) is a setting of the offline trainers"
        + " (train sft|rm|dpo|kto|csft), rejection-sample that a PPO run does not use: each PPO role has its device");
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, "rlhf.algo.beta = 0.2\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainSettings.parse(List.of("--config", conf.toString()), SettingScopes.SFT));
    assertTrue(e.getMessage().startsWith("--beta (algo.beta) is a setting of train dpo, train kto that train sft"),
        e.getMessage());
    CliTest.Run run = CliTest.run("train", "sft", "--rejected_key", "r");
    assertEquals(2, run.code(), run.err());
    assertEquals(1, run.err().strip().lines().count(), run.err());
    TrainSettings.parse(List.of("--logging_steps", "5"), SettingScopes.PPO); // logged: no effect in a PPO run
  }

  /**
   * {@code command} read every setting of its scope ({@code readElsewhere}: ones read outside the code that
   * ran) and none outside it but the data keys, which the shared dataset reader collects for every command.
   */
  public static void assertReadsItsScope(String command, Set<String> read,
      java.util.function.Predicate<String> readElsewhere) {
    Set<String> unread = new TreeSet<>(SettingScopes.scopeOf(command));
    unread.removeAll(read);
    unread.removeIf(readElsewhere);
    assertEquals(Set.of(), unread, command + " accepts settings it never reads");
    Set<String> outside = new TreeSet<>(read);
    outside.removeAll(SettingScopes.scopeOf(command));
    outside.removeIf(k -> k.startsWith("data."));
    assertEquals(Set.of(), outside, command + " reads settings it refuses");
  }

  private static void assertRefused(String command, String flag, String value, String message) {
    List<String> args = new ArrayList<>(List.of(flag));
    if (value != null) {
      args.add(value);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainSettings.parse(args, command));
    assertTrue(e.getMessage().startsWith(message), e.getMessage());
  }
}
