package org.rlhfnode.node.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.lora.LoraConfig;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.role.PpoTestSettings;
import org.rlhfnode.node.settings.TrainSettings;

/**
 * The resilience settings: checkpoints default under the save path, the fingerprint a resumed run must
 * match holds the settings that change the numbers and none of those that only say where or how often,
 * and a value is spelled the same whether it came from a flag or the --config file.
 */
class PpoSettingsTest {
  @TempDir
  Path tmp;

  @Test
  void settingsPpoDoesNotUseAreRefusedNamingThemEvenAtTheirDefault() throws Exception {
    for (String[] flag : List.of(new String[] {"--lora_path", "adapter"}, new String[] {"--lr_warmup_ratio", "0.03"},
        new String[] {"--lr_scheduler", "cosine_with_min_lr"}, new String[] {"--max_len", "64"},
        new String[] {"--learning_rate", "1e-5"}, new String[] {"--dataset", "x.jsonl"})) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PpoTestSettings.of(tmp, flag));
      assertTrue(e.getMessage().startsWith(flag[0] + " (") && e.getMessage().contains("a PPO run does not use"),
          e.getMessage());
    }
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, "rlhf.train.lr_scheduler = constant\n");
    IllegalArgumentException fromFile = assertThrows(IllegalArgumentException.class,
        () -> PpoTestSettings.of(tmp, "--config", conf.toString()));
    assertTrue(fromFile.getMessage().startsWith("--lr_scheduler (train.lr_scheduler)"), fromFile.getMessage());
    assertEquals(1e-3, PpoTestSettings.of(tmp).update().actorLr(), 0.0, "left at their defaults they are no error");
  }

  @Test
  void loraAdaptersForPolicyAndCriticAreInTheFingerprintAndNotForATensorParallelEngine() {
    assertNull(PpoTestSettings.of(tmp).models().lora());
    PpoSettings s = PpoTestSettings.of(tmp, "--lora_rank", "8", "--lora_alpha", "32", "--target_modules", "q_proj",
        "v_proj");
    assertEquals(new LoraConfig(8, 32, 0, List.of("q_proj", "v_proj")), s.models().lora());
    assertEquals("8", s.resilience().fingerprint().get("lora.lora_rank"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PpoTestSettings.of(tmp, "--lora_rank", "8", "--vllm_tensor_parallel_size", "2"));
    assertTrue(e.getMessage().startsWith("--lora_rank with --vllm_tensor_parallel_size > 1"), e.getMessage());
  }

  @Test
  void checkpointsGoUnderTheSavePathUnlessCkptPathSaysOtherwise() {
    PpoSettings s = PpoTestSettings.of(tmp.resolve("save"));
    assertEquals(tmp.resolve("save").resolve("checkpoints"), s.resilience().ckptPath());
    assertEquals(3, s.resilience().maxCkptNum());
    assertFalse(s.resilience().loadCheckpoint());
    PpoSettings t = PpoTestSettings.of(tmp.resolve("save"), "--ckpt_path", tmp.resolve("c").toString(),
        "--max_ckpt_num", "5", "--load_checkpoint", "--save_hf_ckpt", "--recovery_timeout_s", "30");
    assertEquals(tmp.resolve("c"), t.resilience().ckptPath());
    assertEquals(5, t.resilience().maxCkptNum());
    assertTrue(t.resilience().loadCheckpoint() && t.resilience().saveHfCkpt());
    assertEquals(30, t.resilience().recoveryTimeout().toSeconds());
    assertThrows(IllegalArgumentException.class, () -> PpoTestSettings.of(tmp, "--max_ckpt_num", "0"));
  }

  @Test
  void theFingerprintHoldsTheMathsAndNotWhereOrHowOften() {
    Map<String, String> f = PpoTestSettings.of(tmp.resolve("a")).resilience().fingerprint();
    assertEquals("0.001", f.get("ppo.actor_learning_rate"));
    assertEquals("42", f.get("train.seed"));
    assertTrue(f.containsKey("ppo.advantage_estimator") && f.containsKey("rollout.n_samples_per_prompt"));
    for (String operational : List.of("train.save_path", "train.ckpt_path", "train.load_checkpoint",
        "train.save_steps", "ppo.max_iterations", "model.threads", "model.pretrain", "ppo.recovery_timeout_s")) {
      assertFalse(f.containsKey(operational), operational);
    }
    Map<String, String> other = PpoTestSettings.of(tmp.resolve("b"), "--save_steps", "7", "--max_iterations", "9",
        "--threads", "2", "--load_checkpoint").resilience().fingerprint();
    assertEquals(f, other, "where and how often do not change the run");
    assertFalse(f.equals(PpoTestSettings.of(tmp.resolve("c"), "--actor_learning_rate", "2e-3").resilience()
        .fingerprint()));
  }

  @Test
  void aValueIsSpelledTheSameFromAFlagOrAFile() throws Exception {
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, "actor_learning_rate = \"1e-3\"\nreward_clip_range = \"-10,10.0\"\neps_clip = 0.20\n");
    List<String> fromFile = new java.util.ArrayList<>(PpoTestSettings.args(tmp.resolve("s")));
    int at = fromFile.indexOf("--actor_learning_rate");
    fromFile.subList(at, at + 2).clear(); // the learning rate comes from the file instead
    fromFile.addAll(List.of("--config", conf.toString()));
    Map<String, String> a = PpoSettings.from(TrainSettings.parse(fromFile)).resilience().fingerprint();
    Map<String, String> b = PpoTestSettings.of(tmp.resolve("s"), "--reward_clip_range", "-10,10", "--eps_clip",
        "0.2").resilience().fingerprint();
    assertEquals(b, a);
    assertEquals("0.001", PpoSettings.canonical(1e-3));
    assertEquals("0.001", PpoSettings.canonical("0.0010"));
    assertEquals("-10,10", PpoSettings.canonical(List.of(-10, 10.0)));
    assertEquals("group_norm", PpoSettings.canonical("group_norm"));
  }
}
