package org.rlhfnode.node.cli.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.cli.CliTest;
import org.rlhfnode.node.cli.CliTest.Run;

/**
 * The offline trainers end to end through the CLI on the bundled tiny model and synthetic data:
 * each must measurably learn, and a resumed run must repeat the uninterrupted run step for step.
 */
class TrainCommandsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path REPO = Path.of(System.getProperty("rlhf.repo"));
  private static final String MODEL = REPO.resolve("examples/tiny-llama").toString();

  static String data(String name) {
    return REPO.resolve("examples/data").resolve(name).toString();
  }

  static List<String> common(Path save) {
    return new ArrayList<>(List.of("--pretrain", MODEL, "--save_path", save.toString(), "--apply_chat_template",
        "--micro_train_batch_size", "8", "--train_batch_size", "16", "--max_len", "64", "--threads", "2",
        "--learning_rate", "1e-3", "--lr_warmup_ratio", "0"));
  }

  static Run train(String algo, List<String> args) {
    List<String> all = new ArrayList<>(List.of("train", algo));
    all.addAll(args);
    Run r = CliTest.run(all.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    return r;
  }

  static List<JsonNode> metrics(Path save) throws Exception {
    List<JsonNode> rows = new ArrayList<>();
    for (String line : Files.readAllLines(save.resolve("metrics.jsonl"))) {
      rows.add(JSON.readTree(line));
    }
    return rows;
  }

  static double first(List<JsonNode> rows, String key) {
    return rows.stream().filter(r -> r.has(key)).findFirst().orElseThrow().get(key).asDouble();
  }

  static double last(List<JsonNode> rows, String key) {
    JsonNode found = null;
    for (JsonNode r : rows) {
      found = r.has(key) ? r : found;
    }
    return found.get(key).asDouble();
  }

  @Test
  void sftLowersHeldOutLossClearlyAndExportsAReloadableModel(@TempDir Path tmp) throws Exception {
    Path save = tmp.resolve("sft");
    List<String> args = common(save);
    args.addAll(List.of("--dataset", data("sft.jsonl"), "--input_key", "input", "--output_key", "output",
        "--eval_split", "0.1", "--max_samples", "240", "--learning_rate", "3e-3", "--max_epochs", "2",
        "--use_tensorboard", tmp.resolve("tb").toString()));
    train("sft", args);
    List<JsonNode> rows = metrics(save);
    try (java.util.stream.Stream<Path> events = Files.list(tmp.resolve("tb"))) {
      Path file = events.findFirst().orElseThrow();
      assertTrue(file.getFileName().toString().startsWith("events.out.tfevents."), file.toString());
      assertTrue(Files.size(file) > 100L * rows.size(), "one event per metrics.jsonl row: " + Files.size(file));
    }
    double before = first(rows, "eval_loss");
    double after = last(rows, "eval_loss");
    assertTrue(after < 0.6 * before, "eval loss " + before + " → " + after);
    assertTrue(Files.exists(save.resolve("report.html")) && Files.exists(save.resolve("tokenizer.json")));
    Run gen = CliTest.run("generate", "--model", save.toString(), "--prompt", "Name a fruit.", "--chat", "--greedy",
        "--max-new-tokens", "8");
    assertEquals(0, gen.code(), gen.err());
  }

  @Test
  void resumedRunRepeatsTheUninterruptedLossesStepForStep(@TempDir Path tmp) throws Exception {
    assertResumeIsExact(tmp, List.of());
  }

  @Test
  void resumeRestoresTheLoraDropoutRandomStream(@TempDir Path tmp) throws Exception {
    assertResumeIsExact(tmp, List.of("--lora_rank", "4", "--lora_dropout", "0.2", "--learning_rate", "5e-3"));
  }

  /** A run stopped after 5 of 12 steps and resumed from its step-4 checkpoint loses exactly the same. */
  private static void assertResumeIsExact(Path tmp, List<String> extra) throws Exception {
    List<String> base = new ArrayList<>(List.of("--dataset", data("sft.jsonl"), "--input_key", "input",
        "--output_key", "output", "--max_samples", "96", "--max_epochs", "2", "--logging_steps", "1"));
    base.addAll(extra);
    Path whole = tmp.resolve("whole");
    List<String> a = common(whole);
    a.addAll(base);
    train("sft", a);
    Path parts = tmp.resolve("parts");
    List<String> b = common(parts);
    b.addAll(base);
    b.addAll(List.of("--save_steps", "2", "--max_steps", "5"));
    train("sft", b);
    List<String> c = common(parts);
    c.addAll(base);
    c.addAll(List.of("--save_steps", "2", "--load_checkpoint"));
    train("sft", c);
    double[] expected = metrics(whole).stream().mapToDouble(r -> r.get("loss").asDouble()).toArray();
    double[] resumed = metrics(parts).stream().mapToDouble(r -> r.get("loss").asDouble()).toArray();
    assertEquals(12, expected.length);
    assertTrue(Arrays.equals(expected, resumed), Arrays.toString(expected) + " vs " + Arrays.toString(resumed));
    try (Stream<Path> ckpts = Files.list(parts.resolve("checkpoints"))) {
      assertEquals(3, ckpts.filter(p -> p.getFileName().toString().startsWith("global_step_")).count(),
          "--max_ckpt_num 3 keeps the newest three");
    }
  }

  @Test
  void dpoRaisesHeldOutPreferenceAccuracyAboveNinetyPercent(@TempDir Path tmp) throws Exception {
    Path save = tmp.resolve("dpo");
    List<String> args = common(save);
    args.addAll(List.of("--dataset", data("preference.jsonl"), "--prompt_key", "prompt", "--eval_split", "0.15",
        "--max_samples", "240", "--beta", "0.1"));
    train("dpo", args);
    List<JsonNode> rows = metrics(save);
    assertTrue(first(rows, "eval_reward_accuracy") < 0.6);
    assertTrue(last(rows, "eval_reward_accuracy") >= 0.9, rows.toString());
  }

  @Test
  void dpoWithPrecomputedReferenceScoresMatchesTheLiveReference(@TempDir Path tmp) throws Exception {
    List<String> base = List.of("--dataset", data("preference.jsonl"), "--prompt_key", "prompt", "--max_samples", "64",
        "--logging_steps", "1");
    Path live = tmp.resolve("live");
    List<String> a = common(live);
    a.addAll(base);
    train("dpo", a);
    Path pre = tmp.resolve("pre");
    List<String> b = common(pre);
    b.addAll(base);
    b.add("--precompute_ref_log_probs");
    train("dpo", b);
    List<JsonNode> x = metrics(live);
    List<JsonNode> y = metrics(pre);
    assertEquals(x.size(), y.size());
    for (int i = 0; i < x.size(); i++) {
      assertEquals(x.get(i).get("loss").asDouble(), y.get(i).get("loss").asDouble(), 1e-4, "step " + (i + 1));
    }
  }

  @Test
  void rewardModelLearnsThePreferenceAndStoresNormalisation(@TempDir Path tmp) throws Exception {
    Path save = tmp.resolve("rm");
    List<String> args = common(save);
    args.addAll(List.of("--dataset", data("preference.jsonl"), "--prompt_key", "prompt", "--eval_split", "0.15",
        "--max_samples", "240"));
    train("rm", args);
    assertTrue(last(metrics(save), "eval_reward_accuracy") >= 0.9);
    JsonNode config = JSON.readTree(save.resolve("config.json").toFile());
    assertTrue(config.get("std").asDouble() > 0 && config.has("mean"));
  }

  @Test
  void ktoWidensTheDesirableMarginWithLora(@TempDir Path tmp) throws Exception {
    Path save = tmp.resolve("kto");
    List<String> args = common(save);
    args.addAll(List.of("--dataset", data("kto.jsonl"), "--input_key", "prompt", "--output_key", "completion",
        "--eval_split", "0.15", "--max_samples", "240", "--lora_rank", "8", "--lora_alpha", "16",
        "--learning_rate", "5e-3"));
    train("kto", args);
    List<JsonNode> rows = metrics(save);
    assertTrue(last(rows, "eval_kto_margin") > first(rows, "eval_kto_margin") + 0.5, rows.toString());
    assertTrue(Files.exists(save.resolve("adapter/adapter_model.safetensors")));
  }

  @Test
  void savedAdaptersContinueWhereTheRunEnded(@TempDir Path tmp) throws Exception {
    List<String> base = List.of("--dataset", data("sft.jsonl"), "--input_key", "input", "--output_key", "output",
        "--max_samples", "160", "--eval_split", "0.2");
    Path first = tmp.resolve("first");
    List<String> a = common(first);
    a.addAll(base);
    a.addAll(List.of("--lora_rank", "4", "--learning_rate", "1e-2", "--max_epochs", "3"));
    train("sft", a);
    Path second = tmp.resolve("second");
    List<String> b = common(second);
    b.addAll(base);
    b.addAll(List.of("--lora_path", first.resolve("adapter").toString(), "--learning_rate", "1e-6"));
    train("sft", b);
    double ended = last(metrics(first), "eval_loss");
    double resumedAt = first(metrics(second), "eval_loss");
    assertTrue(ended < first(metrics(first), "eval_loss") - 0.5, "the first run learned");
    assertEquals(ended, resumedAt, 1e-4, "the loaded adapters reproduce the first run's final eval loss");
  }

  @Test
  void rejectionSamplingKeepsSamplesAboveTheAverageReward(@TempDir Path tmp) throws Exception {
    Path rm = tmp.resolve("rm");
    Run init = CliTest.run("init-model", "--output", rm.toString(), "--vocab-size", "320", "--hidden-size", "32",
        "--intermediate-size", "64", "--layers", "1", "--heads", "2", "--score-head", "--init-std", "0.3",
        "--tokenizer", MODEL);
    assertEquals(0, init.code(), init.err());
    Path out = tmp.resolve("best.jsonl");
    Run r = CliTest.run("rejection-sample", "--pretrain", MODEL, "--reward_pretrain", rm.toString(), "--dataset",
        data("prompts.jsonl"), "--input_key", "input", "--apply_chat_template", "--max_samples", "12",
        "--n_samples_per_prompt", "4", "--generate_max_len", "8", "--output", out.toString(), "--threads", "2");
    assertEquals(0, r.code(), r.err());
    JsonNode summary = JSON.readTree(r.out().strip());
    assertTrue(summary.get("best_reward_mean").asDouble() > summary.get("sample_reward_mean").asDouble());
    assertEquals(12, Files.readAllLines(out).size());
    assertTrue(JSON.readTree(Files.readAllLines(out).get(0)).has("output"));
  }

  @Test
  void badSettingsAndDataGiveOneLineErrors(@TempDir Path tmp) throws Exception {
    Run unknown = CliTest.run("train", "sft", "--pretrain", MODEL, "--learning_rat", "1");
    assertEquals(2, unknown.code());
    assertTrue(unknown.err().startsWith("error: unknown option --learning_rat"), unknown.err());
    Path conf = tmp.resolve("bad.conf");
    Files.writeString(conf, "train { learning_rate = 1e-4, bogus = 3 }\n");
    Run badConf = CliTest.run("train", "sft", "--config", conf.toString());
    assertTrue(badConf.err().contains("unknown key 'train.bogus'"), badConf.err());
    Path jsonl = tmp.resolve("bad.jsonl");
    Files.writeString(jsonl, "{\"input\": \"a\", \"output\": \"b\"}\n{\"input\": \"a\", \n");
    Run badLine = CliTest.run("train", "sft", "--pretrain", MODEL, "--dataset", jsonl.toString(), "--save_path",
        tmp.resolve("s").toString());
    assertEquals(2, badLine.code());
    assertTrue(badLine.err().strip().startsWith("error: " + jsonl + ":2:"), badLine.err());
  }
}
