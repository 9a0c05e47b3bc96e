package org.rlhfnode.node.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** OpenRLHF's spellings of our settings: what each sets, agreement with our spelling, refusals and scope. */
class OpenRlhfAliasesTest {
  @TempDir
  Path tmp;

  @Test
  void eachAliasSetsTheSettingItStandsFor() {
    assertEquals(1, parse("--async_train").integer("ppo.max_staleness"));
    assertEquals(64, parse("--max_new_tokens", "64").integer("rollout.generate_max_len"));
    assertEquals("test", parse("--train_split", "test").string("data.dataset_split"));
    assertEquals("gloo", parse("--vllm_sync_backend", "gloo").string("weight_sync.weight_sync_transport"));
    assertTrue(parse("--param_dtype", "bf16").bool("train.bf16"));
    assertTrue(parse("--param_dtype=bf16").given("train.bf16"));
    assertEquals("tis", parse("--enable_vllm_is_correction").string("ppo.mismatch_correction"));
    assertEquals("seq_mask_tis", parse("--vllm_is_correction_type", "seq-mask-tis", "--enable_vllm_is_correction")
        .string("ppo.mismatch_correction"));
    TrainSettings s = parse("--enable_vllm_is_correction", "--vllm_is_correction_type", "icepop",
        "--vllm_is_truncated_threshold", "0.3", "4", "--seed", "7");
    assertEquals("icepop", s.string("ppo.mismatch_correction"));
    assertEquals(0.3, s.number("ppo.mismatch_low"));
    assertEquals(4.0, s.number("ppo.mismatch_high"));
    assertEquals(7, s.integer("train.seed"));
    TrainSettings inline = parse("--enable_vllm_is_correction", "--vllm_is_truncated_threshold=0.25,6");
    assertEquals(0.25, inline.number("ppo.mismatch_low"));
    assertEquals(6.0, inline.number("ppo.mismatch_high"));
  }

  @Test
  void correctionTypeAndThresholdsDoNothingWithoutTheSwitchAsInOpenRlhf() {
    List<ILoggingEvent> events = capture(() -> {
      TrainSettings s = parse("--vllm_is_correction_type", "icepop", "--vllm_is_truncated_threshold", "0.3", "4");
      assertEquals("auto", s.string("ppo.mismatch_correction"));
      assertEquals(0.5, s.number("ppo.mismatch_low"));
      assertFalse(s.given("ppo.mismatch_correction"));
    });
    assertEquals(2, events.size(), events.toString());
    assertEquals(Level.WARN, events.get(0).getLevel());
    assertTrue(events.get(0).getFormattedMessage().startsWith(
        "--vllm_is_correction_type has no effect without --enable_vllm_is_correction"),
        events.get(0).getFormattedMessage());
    assertTrue(events.get(1).getFormattedMessage().startsWith("--vllm_is_truncated_threshold has no effect"),
        events.get(1).getFormattedMessage());
  }

  @Test
  void anAliasAndOurSpellingOfTheSameSettingMustAgree() {
    assertEquals(100, parse("--max_new_tokens", "100", "--generate_max_len", "100")
        .integer("rollout.generate_max_len"));
    assertTrue(parse("--bf16", "--param_dtype", "bf16").bool("train.bf16"));
    assertEquals(5.0, parse("--enable_vllm_is_correction", "--vllm_is_truncated_threshold", "0.3", "5",
        "--mismatch_high", "5.0").number("ppo.mismatch_high"));
    assertEquals("icepop", parse("--mismatch_correction", "icepop", "--enable_vllm_is_correction",
        "--vllm_is_correction_type", "icepop").string("ppo.mismatch_correction"));
    assertDisagree(List.of("--max_new_tokens", "100", "--generate_max_len", "200"),
        "--max_new_tokens 100", "--generate_max_len 200");
    assertDisagree(List.of("--rollout.generate_max_len", "200", "--max_new_tokens", "100"),
        "--max_new_tokens 100", "--rollout.generate_max_len 200");
    assertDisagree(List.of("--param_dtype", "bf16", "--bf16", "false"), "--param_dtype bf16", "--bf16 false");
    assertDisagree(List.of("--train_split", "a", "--dataset_split", "b"), "--train_split a", "--dataset_split b");
    assertDisagree(List.of("--vllm_sync_backend", "gloo", "--weight_sync_transport", "artery"),
        "--vllm_sync_backend gloo", "--weight_sync_transport artery");
    assertDisagree(List.of("--enable_vllm_is_correction", "--mismatch_correction", "icepop"),
        "--enable_vllm_is_correction", "--mismatch_correction icepop");
    assertDisagree(List.of("--enable_vllm_is_correction", "--vllm_is_correction_type", "seq-mask-tis",
        "--mismatch_correction", "tis"), "--vllm_is_correction_type seq-mask-tis", "--mismatch_correction tis");
    assertDisagree(List.of("--enable_vllm_is_correction", "--vllm_is_truncated_threshold", "0.3", "4",
        "--mismatch_low", "0.5"), "--vllm_is_truncated_threshold 0.3 4", "--mismatch_low 0.5");
  }

  @Test
  void asyncTrainYieldsToAStalenessBoundOfOneOrMoreAndRefusesZero() throws Exception {
    assertEquals(3, parse("--async_train", "--max_staleness", "3").integer("ppo.max_staleness"));
    assertEquals(2, parse("--max_staleness", "2", "--async_train").integer("ppo.max_staleness"));
    assertDisagree(List.of("--async_train", "--max_staleness", "0"), "--async_train", "--max_staleness 0");
    Path file = tmp.resolve("run.conf");
    Files.writeString(file, "rlhf { ppo { max_staleness = 2 } }\n");
    assertEquals(2, parse("--config", file.toString(), "--async_train").integer("ppo.max_staleness"));
    Files.writeString(file, "rlhf { ppo { max_staleness = 0 } }\n");
    assertEquals(1, parse("--async_train", "--config", file.toString()).integer("ppo.max_staleness"),
        "flags win over the file");
  }

  @Test
  void ncclWeightSyncAndFp16AreRefusedNamingTheFlag() {
    assertRefused(List.of("--vllm_sync_backend", "nccl"), "--vllm_sync_backend nccl is not supported",
        "--vllm_sync_backend gloo", "--weight_sync_transport artery");
    assertRefused(List.of("--vllm_sync_backend", "mpi"), "--vllm_sync_backend: 'mpi' is neither", "gloo");
    assertRefused(List.of("--param_dtype", "fp16"), "--param_dtype fp16 is not supported", "--param_dtype bf16");
    assertRefused(List.of("--param_dtype", "fp32"), "--param_dtype: 'fp32' is neither of OpenRLHF's choices",
        "float32");
    assertRefused(List.of("--vllm_is_correction_type", "tis2"), "--vllm_is_correction_type: 'tis2' is none",
        "seq-mask-tis");
    assertRefused(List.of("--max_new_tokens", "many"), "--max_new_tokens: 'many' is not an integer");
    assertRefused(List.of("--enable_vllm_is_correction", "--vllm_is_truncated_threshold", "0.3", "x"),
        "--vllm_is_truncated_threshold: 'x' is not a number");
  }

  @Test
  void switchesTakeNoValueAndTheThresholdTakesTwo() {
    assertRefused(List.of("--async_train=true"), "--async_train takes no value");
    assertRefused(List.of("--enable_vllm_is_correction", "--vllm_is_truncated_threshold", "0.3"),
        "--vllm_is_truncated_threshold takes 2 values (LOW HIGH), got 1");
    assertRefused(List.of("--max_new_tokens"), "--max_new_tokens takes a value, got 0");
    assertRefused(List.of("--async_train", "1"), "unexpected argument '1'");
  }

  @Test
  void anAliasOfASettingTheCommandDoesNotHaveIsAnUnknownOption() {
    assertUnknownFor("train sft", List.of("--async_train"), "--max_staleness 1", "train ppo");
    assertUnknownFor("train dpo", List.of("--vllm_sync_backend", "gloo"), "--weight_sync_transport", "train ppo");
    assertUnknownFor("train ppo", List.of("--train_split", "test"), "--dataset_split", "train sft");
    assertUnknownFor("node", List.of("--train_split", "test"), "--dataset_split", "train sft");
    assertUnknownFor("rejection-sample", List.of("--param_dtype", "bf16"), "--bf16", "train sft");
    assertUnknownFor("train kto", List.of("--max_new_tokens", "8"), "--generate_max_len", "rejection-sample");
    assertEquals(8, TrainSettings.parse(List.of("--max_new_tokens", "8"), "rejection-sample")
        .integer("rollout.generate_max_len"));
    assertEquals(1, TrainSettings.parse(List.of("--async_train"), "plan").integer("ppo.max_staleness"));
    assertTrue(TrainSettings.parse(List.of("--param_dtype", "bf16"), "train csft").bool("train.bf16"));
  }

  @Test
  void targetModulesTakesOpenRlhfsSpaceSeparatedListAsWellAsACommaList() {
    assertEquals(List.of("q_proj", "v_proj"), parse("--target_modules", "q_proj", "v_proj", "--lora_rank", "8")
        .list("lora.target_modules"));
    assertEquals(List.of("q_proj", "v_proj"), parse("--target_modules", "q_proj,v_proj").list("lora.target_modules"));
    assertEquals(List.of("q_proj", "k_proj"), parse("--lora.target_modules=q_proj,k_proj").list("lora.target_modules"));
    assertEquals(List.of("all-linear"), parse("--seed", "1").list("lora.target_modules"));
  }

  @Test
  void helpListsEveryAliasWithWhatItStandsFor() {
    String help = TrainSettings.describe();
    for (OpenRlhfAliases.Alias a : OpenRlhfAliases.all().values()) {
      assertTrue(help.contains("--" + a.name() + " ") && help.contains(a.means()), a.name() + " in --help");
    }
  }

  private static TrainSettings parse(String... args) {
    return TrainSettings.parse(List.of(args));
  }

  private static void assertDisagree(List<String> args, String alias, String ours) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainSettings.parse(args));
    assertTrue(e.getMessage().contains(alias) && e.getMessage().contains(ours) && e.getMessage().contains("disagree"),
        e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
  }

  private static void assertRefused(List<String> args, String start, String... mentions) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainSettings.parse(args));
    assertTrue(e.getMessage().startsWith(start), e.getMessage());
    for (String m : mentions) {
      assertTrue(e.getMessage().contains(m), m + " in: " + e.getMessage());
    }
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
  }

  private static void assertUnknownFor(String command, List<String> args, String setting, String owner) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainSettings.parse(args, command));
    assertTrue(e.getMessage().startsWith("unknown option " + args.get(0) + " for " + command + ": "), e.getMessage());
    assertTrue(e.getMessage().contains(setting) && e.getMessage().contains(owner), e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
  }

  private static List<ILoggingEvent> capture(Runnable action) {
    return LogCapture.of(OpenRlhfAliases.class, action);
  }
}
