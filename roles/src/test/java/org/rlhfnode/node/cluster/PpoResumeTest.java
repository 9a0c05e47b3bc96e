package org.rlhfnode.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.metrics.MetricsFile;
import org.rlhfnode.runtime.metrics.MetricsRow;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.ModelSaver;
import org.rlhfnode.runtime.model.RewardHead;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/**
 * A seeded PPO run (GAE with a critic, adaptive KL, two passes over the prompts, a checkpoint every two
 * iterations, HF weights in each) stopped with TERM mid-run checkpoints before it exits (143); a restart without
 * {@code --load_checkpoint} refuses to overwrite it (2); with the newest checkpoint's policy weights
 * corrupted, {@code --load_checkpoint} falls back to the previous checkpoint and the run completes with
 * every iteration once in metrics.jsonl and the rewards, KL, β and losses of the undisturbed run, bit for bit.
 */
public class PpoResumeTest {
  private static final Path REPO = Path.of(System.getProperty("rlhf.repo"));
  private static final Path TINY = REPO.resolve("examples/tiny-llama");
  private static final Duration LIMIT = Duration.ofMinutes(3);
  static final List<String> COMPARED = List.of("reward_mean", "kl", "kl_coef", "policy_loss", "value_loss",
      "response_length", "samples_total", "policy_version");

  @TempDir
  Path tmp;

  /** The tiny Llama with a (random) score head, as reward model, written to {@code dir}. */
  public static Path rewardModel(Path dir) {
    try (CausalLm rm = RewardHead.ensure(ModelLoader.load(TINY, DeviceSpec.CPU, ScalarType.Float), 7)) {
      ModelSaver.save(rm, dir, DType.F32, ModelSaver.DEFAULT_SHARD_BYTES);
    }
    return dir;
  }

  /** The run's settings as flags, saving to {@code save}. */
  static List<String> run(Path save, Path rm, String... extra) {
    List<String> a = new ArrayList<>(List.of("--pretrain", TINY.toString(), "--reward_pretrain", rm.toString(),
        "--prompt_data", REPO.resolve("examples/data/ppo_prompts.jsonl").toString(), "--input_key", "input",
        "--apply_chat_template", "--save_path", save.toString(), "--rollout_batch_size", "8",
        "--n_samples_per_prompt", "2", "--generate_max_len", "8", "--advantage_estimator", "gae",
        "--train_batch_size", "16", "--micro_train_batch_size", "8", "--actor_learning_rate", "1e-3",
        "--critic_learning_rate", "1e-3", "--init_kl_coef", "0.05", "--kl_target", "0.01", "--kl_horizon", "100",
        "--num_episodes", "2", "--max_iterations", "8", "--save_steps", "2", "--threads", "1", "--temperature",
        "1.0"));
    a.addAll(List.of(extra));
    return a;
  }

  static List<String> with(List<String> a, String... more) {
    List<String> out = new ArrayList<>(a);
    out.addAll(List.of(more));
    return out;
  }

  static List<MetricsRow> rows(Path save) {
    return MetricsFile.read(save.resolve(MetricsFile.FILE_NAME));
  }

  /** Every compared metric of every iteration equal, bit for bit; each iteration once, in order. */
  static void assertSameRun(List<MetricsRow> expected, List<MetricsRow> actual) {
    assertEquals(expected.stream().map(r -> r.get("iteration")).toList(),
        actual.stream().map(r -> r.get("iteration")).toList(), "each iteration once");
    for (int i = 0; i < expected.size(); i++) {
      for (String k : COMPARED) {
        assertEquals(expected.get(i).get(k), actual.get(i).get(k), "iteration " + (i + 1) + " " + k);
      }
    }
  }

  private static void flipByte(Path file) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      long at = f.length() / 2;
      f.seek(at);
      int b = f.read();
      f.seek(at);
      f.write(b ^ 0x5a);
    }
  }

  private static List<Path> checkpoints(Path ckpt) throws IOException {
    try (Stream<Path> s = Files.list(ckpt)) {
      return s.filter(p -> p.getFileName().toString().startsWith("iter_"))
          .sorted(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().substring(5)))).toList();
    }
  }

  @Test
  void termCheckpointsAndACorruptNewestCheckpointFallsBackWithTheSameNumbers() throws Exception {
    Path rm = rewardModel(tmp.resolve("rm"));
    Path undisturbed = tmp.resolve("undisturbed");
    try (NodeProcess all = NodeProcess.start(tmp.resolve("a.log"), with(run(undisturbed, rm), "--role", "all"))) {
      assertEquals(0, all.waitFor(LIMIT), all.tail());
    }
    Path save = tmp.resolve("stopped");
    List<String> stopped = run(save, rm, "--save_hf_ckpt");
    try (NodeProcess first = NodeProcess.start(tmp.resolve("b.log"), with(stopped, "--role", "all"))) {
      first.awaitLine(" 3/8 [", LIMIT); // the progress line of iteration 3
      first.terminate();
      assertEquals(143, first.waitFor(LIMIT), first.tail());
    }
    List<Path> saved = checkpoints(save.resolve("checkpoints"));
    assertTrue(saved.size() >= 2, "checkpoints " + saved);
    for (String hf : List.of("config.json", "model.safetensors", "tokenizer.json")) {
      assertTrue(Files.isRegularFile(saved.get(0).resolve("policy/hf").resolve(hf)), "--save_hf_ckpt: " + hf);
    }
    int rowsBefore = rows(save).size();
    try (NodeProcess refused = NodeProcess.start(tmp.resolve("c.log"), with(stopped, "--role", "all"))) {
      assertEquals(2, refused.waitFor(LIMIT), refused.tail());
      assertTrue(refused.tail().contains("add --load_checkpoint to resume it"), refused.tail());
    }
    assertEquals(rowsBefore, rows(save).size(), "a refused start leaves the metrics alone");
    Path newest = saved.get(saved.size() - 1);
    Path weights;
    try (Stream<Path> s = Files.list(newest.resolve("policy/model"))) {
      weights = s.filter(p -> p.toString().endsWith(".safetensors")).findFirst().orElseThrow();
    }
    flipByte(weights);
    try (NodeProcess resumed = NodeProcess.start(tmp.resolve("d.log"),
        with(stopped, "--role", "all", "--load_checkpoint"))) {
      assertEquals(0, resumed.waitFor(LIMIT), resumed.tail());
      assertTrue(resumed.log().contains(weights.toString()), "the warning names the corrupt file");
      assertTrue(!resumed.log().contains(" 1/8 ["), "iteration 1 is not run again:\n" + resumed.tail());
    }
    assertSameRun(rows(undisturbed), rows(save));
    assertEquals(8, rows(save).size());
  }
}
