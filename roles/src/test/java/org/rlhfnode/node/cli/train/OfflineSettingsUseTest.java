package org.rlhfnode.node.cli.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.node.cli.train.TrainCommandsTest.common;
import static org.rlhfnode.node.cli.train.TrainCommandsTest.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.cli.RunSettingsUseTest;
import org.rlhfnode.node.cluster.PpoResumeTest;
import org.rlhfnode.node.settings.SettingScopes;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/**
 * Each offline trainer reads every setting it accepts ({@link SettingScopes}): one step of {@code train
 * sft|rm|dpo|kto|csft} with evaluation, a checkpoint and {@code --save_hf_ckpt}, and the keys the run looked up
 * cover the command's scope. The only keys read outside it are the data keys the shared dataset reader collects
 * for every command (each loader then takes its own). The {@code hf/} copy in the checkpoint is a loadable model.
 */
class OfflineSettingsUseTest {
  /** Read by {@link TrainAlgorithmCommand#call} before a rank's run begins. */
  private static final Set<String> READ_BEFORE_RUN = Set.of("train.ranks");

  @Test
  void everyOfflineTrainerReadsEverySettingItAccepts(@TempDir Path tmp) throws Exception {
    Path rm = PpoResumeTest.rewardModel(tmp.resolve("rm-model"));
    check(SettingScopes.SFT, new SftCommand(), tmp.resolve("sft"), "--dataset", data("sft.jsonl"), "--input_key",
        "input", "--output_key", "output");
    check(SettingScopes.RM, new RmCommand(), tmp.resolve("rm"), "--dataset", data("preference.jsonl"),
        "--prompt_key", "prompt");
    check(SettingScopes.DPO, new DpoCommand(), tmp.resolve("dpo"), "--dataset", data("preference.jsonl"),
        "--prompt_key", "prompt");
    check(SettingScopes.KTO, new KtoCommand(), tmp.resolve("kto"), "--dataset", data("kto.jsonl"), "--input_key",
        "prompt", "--output_key", "completion");
    check(SettingScopes.CSFT, new CsftCommand(), tmp.resolve("csft"), "--dataset", data("sft.jsonl"),
        "--input_key", "input", "--output_key", "output", "--reward_pretrain", rm.toString());
    Path step;
    try (Stream<Path> s = Files.list(tmp.resolve("sft/checkpoints"))) {
      step = s.filter(p -> p.getFileName().toString().startsWith("global_step")).findFirst().orElseThrow();
    }
    for (Path owned : List.of(tmp.resolve("sft"), tmp.resolve("sft/checkpoints"))) { // created by the run
      assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(owned)), owned + " is owner-only");
    }
    for (String f : List.of("config.json", "model.safetensors", "tokenizer.json")) {
      assertTrue(Files.isRegularFile(step.resolve("hf").resolve(f)), "--save_hf_ckpt: " + step + "/hf/" + f);
    }
    try (CausalLm copy = ModelLoader.load(step.resolve("hf"), DeviceSpec.CPU, ScalarType.Float)) {
      assertTrue(copy.hasLmHead() && copy.parameters().containsKey("model.layers.0.self_attn.q_proj.weight"));
    }
  }

  private static void check(String command, TrainAlgorithmCommand cmd, Path save, String... extra) {
    List<String> a = common(save);
    a.addAll(List.of(extra));
    a.addAll(List.of("--max_steps", "1", "--max_samples", "32", "--eval_split", "0.25", "--eval_steps", "1",
        "--save_steps", "1", "--save_hf_ckpt"));
    TrainSettings s = TrainSettings.parse(a, command);
    assertEquals(0, cmd.run(s, Collectives.single()));
    RunSettingsUseTest.assertReadsItsScope(command, s.read(), READ_BEFORE_RUN::contains);
  }
}
