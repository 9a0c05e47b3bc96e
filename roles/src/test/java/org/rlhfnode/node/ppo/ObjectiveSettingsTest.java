package org.rlhfnode.node.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.role.PpoTestSettings;
import org.rlhfnode.runtime.algo.ppo.DynamicFilter;
import org.rlhfnode.runtime.algo.ppo.MismatchCorrection;
import org.rlhfnode.runtime.algo.ppo.PolicyLoss;
import org.rlhfnode.runtime.algo.ppo.RewardShaping;

/**
 * OpenRLHF's remote, verifiable-reward, DAPO and GSPO flags: each one changes what the run does, written
 * as OpenRLHF users write them (two-value flags as two words), and a bad or pointless value is one line
 * naming the flag.
 */
class ObjectiveSettingsTest {
  @TempDir
  Path tmp;

  private PpoSettings of(String... flags) {
    return PpoTestSettings.of(tmp.resolve("save"), flags);
  }

  private String error(String... flags) {
    String m = assertThrows(IllegalArgumentException.class, () -> of(flags)).getMessage();
    assertFalse(m.contains("\n"), m);
    return m;
  }

  @Test
  void eachFlagHasItsEffect() {
    PpoSettings base = of();
    assertNull(base.models().remoteReward());
    assertNull(base.prompts().dynamicFilter());
    assertEquals(RewardShaping.Options.DEFAULTS, base.experience().shaping());
    assertFalse(base.update().policy().gspo());

    PpoSettings s = of("--remote_rm_url", "http://127.0.0.1:5000/get_reward,http://127.0.0.1:5001/get_reward",
        "--remote_rm_timeout_s", "20", "--remote_rm_attempts", "3", "--remote_rm_backoff_ms", "500",
        "--eps_clip_low_high", "0.2", "0.28", "--policy_loss_type", "gspo", "--overlong_buffer_len", "2",
        "--overlong_penalty_factor", "0.5", "--dynamic_filtering", "--dynamic_filtering_reward_range", "0.1", "0.9");
    assertEquals(2, s.models().remoteReward().urls().size());
    assertEquals(Duration.ofSeconds(20), s.models().remoteReward().timeout());
    assertEquals(3, s.models().remoteReward().attempts());
    assertEquals(Duration.ofMillis(500), s.models().remoteReward().backoff());
    PolicyLoss.Options p = s.update().policy();
    assertEquals(0.2, p.epsLow());
    assertEquals(0.28, p.epsHigh());
    assertTrue(p.gspo());
    assertEquals(PolicyLoss.GspoCorrection.ROLLOUT_RATIO, p.gspoCorrection(), "OpenRLHF's way by default");
    RewardShaping.Options shaping = s.experience().shaping();
    assertEquals(4, shaping.generateMaxLen()); // the test settings' generate_max_len
    assertEquals(2, shaping.overlongBuffer());
    assertEquals(0.5, shaping.overlongPenaltyFactor());
    assertEquals(new DynamicFilter(0.1, 0.9), s.prompts().dynamicFilter());
    assertEquals(new DynamicFilter(-1, 0.5), of("--dynamic_filtering", "--dynamic_filtering_reward_range", "-1", "0.5",
        "--reward_clip_range", "-5", "5").prompts().dynamicFilter(), "negative values are values, not flags");
    PpoSettings ours = of("--policy_loss_type", "gspo", "--mismatch_correction", "tis", "--gspo_correction",
        "token_weights");
    assertEquals(PolicyLoss.GspoCorrection.TOKEN_WEIGHTS, ours.update().policy().gspoCorrection());
    assertEquals(MismatchCorrection.TIS, ours.update().policy().mismatch());
    PpoSettings remoteOnly = of("--reward_pretrain", "", "--remote_rm_url", "https://rm.example/score");
    assertTrue(remoteOnly.models().rewardPretrain().isEmpty(), "a remote endpoint is a reward source on its own");
  }

  @Test
  void badOrPointlessValuesAreOneLineNamingTheFlag() {
    assertEquals("--remote_rm_url 'localhost:5000': not an http:// or https:// URL with a host",
        error("--remote_rm_url", "localhost:5000"));
    assertEquals("--remote_rm_timeout_s × --remote_rm_attempts plus the backoff waits (615 s) must be below "
        + "--role_timeout_s (600 s), or the supervisor resends the scoring while the endpoint is still being tried",
        error("--remote_rm_url", "http://h/r", "--remote_rm_timeout_s", "120"));
    assertEquals("--remote_rm_attempts has no effect without --remote_rm_url", error("--remote_rm_attempts", "2"));
    assertEquals("--eps_clip_low_high needs two values (LOW HIGH), got 0.2", error("--eps_clip_low_high", "0.2"));
    assertEquals("--eps_clip_low_high and --eps_clip_high both set the upper clip: give one of them",
        error("--eps_clip_low_high", "0.2", "0.28", "--eps_clip_high", "0.3"));
    assertEquals("--eps_clip_low_high: 'x' is not a number", error("--eps_clip_low_high", "0.2", "x"));
    assertEquals("--policy_loss_type must be ppo or gspo, got 'gpso'", error("--policy_loss_type", "gpso"));
    assertEquals("--gspo_correction must be rollout_ratio or token_weights, got 'tokens'",
        error("--gspo_correction", "tokens"));
    assertTrue(error("--gspo_correction", "token_weights").startsWith(
        "--gspo_correction token_weights has no effect without --policy_loss_type gspo and a mismatch correction"));
    assertEquals("--overlong_buffer_len must be a whole number of tokens in [1, --generate_max_len 4], got 5",
        error("--overlong_buffer_len", "5"));
    assertEquals("--overlong_penalty_factor has no effect without --overlong_buffer_len",
        error("--overlong_penalty_factor", "2"));
    assertEquals("--dynamic_filtering_reward_range has no effect without --dynamic_filtering",
        error("--dynamic_filtering_reward_range", "0", "0.5"));
    assertEquals("--dynamic_filtering_reward_range needs LOW < HIGH, got 1.0 0.0",
        error("--dynamic_filtering", "--dynamic_filtering_reward_range", "1", "0"));
    assertEquals("--dynamic_filtering filters groups of samples of one prompt: it needs --n_samples_per_prompt ≥ 2, "
        + "got 1", error("--dynamic_filtering", "--n_samples_per_prompt", "1", "--advantage_estimator", "reinforce"));
    assertEquals("--reward_pretrain, --reward_functions or --remote_rm_url is required (the reward source)",
        error("--reward_pretrain", ""));
  }

  @Test
  void eachPromptKeepsItsLabelFromTheLabelKey() throws Exception {
    Path data = Files.writeString(tmp.resolve("math.jsonl"), """
        {"input": "What is 1+1?", "answer": "2", "label": "other"}
        {"input": "What is 2+2?", "answer": 4}
        {"input": "What is 3+3?"}
        """);
    RunPlan plan = RunPlan.load(of("--prompt_data", data.toString(), "--rollout_batch_size", "3", "--label_key",
        "answer"));
    assertEquals(List.of("2", "4", ""), plan.labels(), "a number is its JSON text, a missing key is empty");
    RunPlan.PromptSet batch = plan.batchFor(0);
    for (int i = 0; i < 3; i++) { // the shuffled batch keeps each prompt with its own label
      long[] ids = batch.ids().get(i);
      int at = java.util.stream.IntStream.range(0, 3)
          .filter(k -> java.util.Arrays.equals(plan.prompts().get(k), ids)).findFirst().orElseThrow();
      assertEquals(plan.labels().get(at), batch.labels().get(i));
    }
    assertEquals(List.of("other", "", ""), RunPlan.load(of("--prompt_data", data.toString(), "--rollout_batch_size",
        "3")).labels(), "label_key defaults to label");
  }
}
