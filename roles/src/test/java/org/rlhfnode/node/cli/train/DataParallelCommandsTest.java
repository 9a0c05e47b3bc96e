package org.rlhfnode.node.cli.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.node.cli.train.TrainCommandsTest.common;
import static org.rlhfnode.node.cli.train.TrainCommandsTest.data;
import static org.rlhfnode.node.cli.train.TrainCommandsTest.metrics;
import static org.rlhfnode.node.cli.train.TrainCommandsTest.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.cli.CliTest;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/**
 * {@code train sft|dpo --ranks N --zero_stage S [--gradient_checkpointing]} through the CLI: the same
 * {@code loss} per step in metrics.jsonl as one rank (≤ 1e-5 relative, fp32), the same saved model,
 * and a checkpoint written on N ranks (one file per rank under ZeRO) resumes on another rank count.
 */
class DataParallelCommandsTest {
  private static final double TOLERANCE = 1e-5;

  private static List<String> sft(Path save, int steps, String... extra) {
    List<String> args = common(save);
    args.addAll(List.of("--dataset", data("sft.jsonl"), "--input_key", "input", "--output_key", "output",
        "--max_samples", "200", "--micro_train_batch_size", "2", "--train_batch_size", "8", "--max_steps",
        String.valueOf(steps), "--threads", "1", "--learning_rate", "2e-3"));
    args.addAll(List.of(extra));
    return args;
  }

  static Map<Long, Double> column(Path save, String key) throws Exception {
    Map<Long, Double> out = new LinkedHashMap<>();
    for (JsonNode row : metrics(save)) {
      if (row.has(key)) {
        out.put(row.get("step").asLong(), row.get(key).asDouble());
      }
    }
    return out;
  }

  static void assertSameColumn(Path expected, Path actual, String key) throws Exception {
    Map<Long, Double> a = column(expected, key);
    Map<Long, Double> b = column(actual, key);
    assertEquals(a.keySet(), b.keySet(), key + " logged at the same steps");
    for (Long step : a.keySet()) {
      double diff = Math.abs(a.get(step) - b.get(step));
      assertTrue(diff <= TOLERANCE * Math.abs(a.get(step)) || diff == 0, key + " at step " + step + ": " + a.get(step) + " vs " + b.get(step));
    }
  }

  static void assertSameModel(Path expected, Path actual) {
    assertSameModel(expected, actual, TOLERANCE);
  }

  /** Every weight within {@code tolerance} of the largest magnitude of its tensor. */
  static void assertSameModel(Path expected, Path actual, double tolerance) {
    try (PointerScope scope = new PointerScope();
        CausalLm a = ModelLoader.load(expected, DeviceSpec.CPU, ScalarType.Float);
        CausalLm b = ModelLoader.load(actual, DeviceSpec.CPU, ScalarType.Float)) {
      for (Map.Entry<String, Tensor> e : a.parameters().entrySet()) {
        Tensor x = e.getValue();
        Tensor y = b.parameters().get(e.getKey());
        double diff = x.sub(y).abs().max().item_double();
        double scale = x.abs().max().item_double();
        assertTrue(diff <= tolerance * scale, e.getKey() + ": max |Δ| " + diff + " of " + scale);
      }
    }
  }

  @Test
  void sftOnTwoRanksAtZero3WithCheckpointingMatchesOneRankAndSavesTheSameModel(@TempDir Path tmp) throws Exception {
    Path one = tmp.resolve("one");
    Path two = tmp.resolve("two");
    train("sft", sft(one, 10, "--eval_split", "0.05", "--eval_steps", "5"));
    train("sft", sft(two, 10, "--eval_split", "0.05", "--eval_steps", "5", "--ranks", "2", "--zero_stage", "3",
        "--gradient_checkpointing"));
    assertSameColumn(one, two, "loss");
    assertSameColumn(one, two, "eval_loss");
    assertSameModel(one, two);
  }

  @Test
  void dpoOnFourRanksAtZero1MatchesOneRank(@TempDir Path tmp) throws Exception {
    List<List<String>> runs = new ArrayList<>();
    for (String ranks : List.of("1", "4")) {
      List<String> args = common(tmp.resolve("r" + ranks));
      args.addAll(List.of("--dataset", data("preference.jsonl"), "--prompt_key", "prompt", "--micro_train_batch_size",
          "2", "--train_batch_size", "8", "--max_steps", "6", "--threads", "1", "--beta", "0.1", "--nll_loss_coef", "0.5",
          "--ranks", ranks, "--zero_stage", ranks.equals("1") ? "0" : "1"));
      runs.add(args);
      train("dpo", args);
    }
    assertSameColumn(tmp.resolve("r1"), tmp.resolve("r4"), "loss");
    assertSameModel(tmp.resolve("r1"), tmp.resolve("r4"));
  }

  @Test
  void aCheckpointOfTwoZero2RanksResumesOnFourZero3Ranks(@TempDir Path tmp) throws Exception {
    Path straight = tmp.resolve("straight");
    Path resumed = tmp.resolve("resumed");
    train("sft", sft(straight, 8));
    train("sft", sft(resumed, 4, "--ranks", "2", "--zero_stage", "2", "--save_steps", "4"));
    train("sft", sft(resumed, 8, "--ranks", "4", "--zero_stage", "3", "--save_steps", "4", "--load_checkpoint"));
    assertSameColumn(straight, resumed, "loss");
    assertSameModel(straight, resumed);
  }

  @Test
  void aCheckpointOfTwoZero3RanksIsOneFilePerRankAndResumesOnOneRank(@TempDir Path tmp) throws Exception {
    Path straight = tmp.resolve("straight");
    Path resumed = tmp.resolve("resumed");
    Path ckpt = tmp.resolve("ckpt");
    train("sft", sft(straight, 8));
    train("sft", sft(resumed, 4, "--ranks", "2", "--zero_stage", "3", "--save_steps", "4", "--ckpt_path",
        ckpt.toString()));
    Path step4 = ckpt.resolve("global_step_4");
    try (Stream<Path> files = Files.list(step4.resolve("zero"))) {
      assertEquals(List.of("layout.json", "rank-00000-of-00002.safetensors", "rank-00001-of-00002.safetensors"),
          files.map(f -> f.getFileName().toString()).sorted().toList());
    }
    assertFalse(Files.exists(step4.resolve("model")), "no gathered copy");
    train("sft", sft(resumed, 8, "--ranks", "1", "--save_steps", "4", "--ckpt_path", ckpt.toString(),
        "--load_checkpoint"));
    assertTrue(Files.isDirectory(ckpt.resolve("global_step_8").resolve("model")),
        "one rank writes the consolidated layout");
    assertSameColumn(straight, resumed, "loss");
    assertSameModel(straight, resumed);
  }

  @Test
  void ranksThatDoNotDivideTheBatchAndUnknownStagesAreOneLineErrors(@TempDir Path tmp) {
    List<String> odd = new ArrayList<>(List.of("train", "sft"));
    odd.addAll(sft(tmp.resolve("odd"), 2, "--ranks", "3"));
    CliTest.Run r = CliTest.run(odd.toArray(new String[0]));
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--train_batch_size (8) must be a multiple of --micro_train_batch_size × --ranks (2 × 3)"),
        r.err());
    List<String> stage = new ArrayList<>(List.of("train", "sft"));
    stage.addAll(sft(tmp.resolve("stage"), 2, "--zero_stage", "4"));
    r = CliTest.run(stage.toArray(new String[0]));
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--zero_stage must be 0, 1, 2 or 3, got 4"), r.err());
  }
}
