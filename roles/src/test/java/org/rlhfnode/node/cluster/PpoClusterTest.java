package org.rlhfnode.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.metrics.MetricsFile;
import org.rlhfnode.runtime.metrics.MetricsRow;

/**
 * The same seeded PPO run (GAE: policy, critic, reference, reward) with every role in one JVM and as
 * three JVMs on 127.0.0.1 — supervisor+trainer, rollout, reward+reference+critic — gives the same
 * per-iteration rewards (with weights synced over Artery in one case and by Gloo in the other), and
 * both end with exit code 0 and the trained models saved. Four JVMs with the policy trainer and the
 * critic over 2 ZeRO-3 ranks each and the rollout engine, the reference and the reward model each over
 * a tensor-parallel group of 2 give the same rewards too.
 */
class PpoClusterTest {
  private static final Path REPO = Path.of(System.getProperty("rlhf.repo"));
  private static final Path TINY = REPO.resolve("examples/tiny-llama");
  private static final Duration LIMIT = Duration.ofMinutes(4);

  @TempDir
  Path tmp;

  private Path rewardModel() {
    return PpoResumeTest.rewardModel(tmp.resolve("rm"));
  }

  private static List<String> run(Path save, Path rm, String... extra) {
    List<String> a = new ArrayList<>(List.of("--pretrain", TINY.toString(), "--reward_pretrain", rm.toString(),
        "--prompt_data", REPO.resolve("examples/data/ppo_prompts.jsonl").toString(), "--input_key", "input",
        "--apply_chat_template", "--save_path", save.toString(), "--rollout_batch_size", "4",
        "--n_samples_per_prompt", "2", "--generate_max_len", "8", "--advantage_estimator", "gae",
        "--train_batch_size", "8", "--micro_train_batch_size", "4", "--actor_learning_rate", "1e-3",
        "--critic_learning_rate", "1e-3", "--max_iterations", "3", "--threads", "1", "--temperature", "1.0"));
    a.addAll(List.of(extra));
    return a;
  }

  private static List<String> concat(List<String> a, String... b) {
    List<String> out = new ArrayList<>(List.of(b));
    out.addAll(a);
    return out;
  }

  private static List<Double> rewards(Path save) {
    List<Double> out = new ArrayList<>();
    for (MetricsRow r : MetricsFile.read(save.resolve(MetricsFile.FILE_NAME))) {
      out.add(r.get("reward_mean"));
    }
    return out;
  }

  /** The reference: every role in one JVM; returns its save path. */
  private Path oneJvmRun(Path rm) throws InterruptedException {
    Path one = tmp.resolve("one");
    try (NodeProcess all = NodeProcess.start(tmp.resolve("all.log"), concat(run(one, rm), "--role", "all"))) {
      assertEquals(0, all.waitFor(LIMIT), all.tail());
    }
    return one;
  }

  private static void assertSameRewards(Path one, Path other) {
    List<Double> expected = rewards(one);
    List<Double> actual = rewards(other);
    assertEquals(3, expected.size());
    assertEquals(expected.size(), actual.size());
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.get(i), actual.get(i), 1e-6, "iteration " + (i + 1) + ": " + expected + " vs " + actual);
    }
  }

  /**
   * The three JVMs talk over mutual TLS ({@code --secure --keys}); a fourth JVM with the keys of another run
   * tries to join as a rollout engine, is refused at the handshake, and the run goes on undisturbed. So does
   * it when a client without a certificate and plain garbage (twice) knock at the cluster port: the refusing
   * node logs each reason once. (Garbage to the Gloo store's port: {@code GlooGroupTest}.)
   */
  @Test
  void threeJvmsOverMutualTlsGiveTheRewardsOfOneAndAStrangerIsRefused() throws Exception {
    Path rm = rewardModel();
    Path one = oneJvmRun(rm);
    Path three = tmp.resolve("three");
    Path keys = tmp.resolve("keys");
    Path otherRun = tmp.resolve("other-keys");
    RunKeys.create(keys, "test", Duration.ofDays(1));
    RunKeys.create(otherRun, "other", Duration.ofDays(1));
    int seed = NodeProcess.freePort();
    String seedAddress = "127.0.0.1:" + seed;
    // the one-JVM run moved weights over Artery, the three JVMs use a c10d Gloo broadcast
    List<String> common = run(three, rm, "--weight_sync_transport", "gloo", "--gloo_port", "0");
    List<String> secure = concat(common, "--secure", "--keys", keys.toString());
    try (NodeProcess sup = NodeProcess.start(tmp.resolve("sup.log"),
            concat(secure, "--role", "supervisor,trainer", "--port", String.valueOf(seed)));
        NodeProcess rollout = NodeProcess.start(tmp.resolve("rollout.log"),
            concat(secure, "--role", "rollout", "--port", "0", "--seed", seedAddress));
        NodeProcess scorers = NodeProcess.start(tmp.resolve("scorers.log"),
            concat(secure, "--role", "reward,reference,critic", "--port", "0", "--seed", seedAddress))) {
      try (NodeProcess stranger = NodeProcess.start(tmp.resolve("stranger.log"), concat(common, "--secure", "--keys",
          otherRun.toString(), "--role", "rollout", "--port", "0", "--seed", seedAddress))) {
        // its certificate is not of this run's CA: one clear line on its side, naming the node that refused it
        stranger.awaitLine("cluster: the TLS handshake with the node at 127.0.0.1:" + seed + " failed", LIMIT);
      }
      sup.awaitLine("refused an inbound connection that is not a node of this run", LIMIT); // certificate_unknown
      // or a hang-up, depending on whether the stranger's alert comes before it closes the connection
      Strangers.sendGarbage(seed);
      Strangers.sendGarbage(seed);
      String noCertificate = Strangers.handshakeWithoutCertificate(seed, keys.resolve(RunKeys.CA_CERT));
      assertTrue(noCertificate.contains("bad_certificate") || noCertificate.contains("certificate_required"),
          noCertificate);
      assertEquals(0, sup.waitFor(LIMIT), sup.tail());
      assertEquals(0, rollout.waitFor(Duration.ofMinutes(1)), rollout.tail());
      assertEquals(0, scorers.waitFor(Duration.ofMinutes(1)), scorers.tail());
    }
    assertSameRewards(one, three);
    List<String> refusals = Files.readAllLines(tmp.resolve("sup.log")).stream()
        .filter(l -> l.contains("refused an inbound connection that is not a node of this run")).toList();
    assertEquals(1, refusals.stream().filter(l -> l.contains("plaintext connection")).count(), refusals.toString());
    assertEquals(1, refusals.stream().filter(l -> l.contains("Empty client certificate chain")).count(),
        refusals.toString());
    assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(three)), "the save path is owner-only");
    String keyLine = Files.readAllLines(keys.resolve(RunKeys.KEY)).get(1); // a line of the private key
    for (Path out : List.of(tmp.resolve("sup.log"), tmp.resolve("rollout.log"), tmp.resolve("scorers.log"),
        three.resolve(MetricsFile.FILE_NAME), three.resolve("ppo_config.conf"))) {
      assertTrue(!Files.readString(out).contains(keyLine), out + " holds no secret");
    }
    for (Path save : List.of(one, three)) {
      assertTrue(Files.isRegularFile(save.resolve("policy/model.safetensors")), save + " policy");
      assertTrue(Files.isRegularFile(save.resolve("critic/model.safetensors")), save + " critic");
      assertTrue(Files.isRegularFile(save.resolve("report.html")), save + " report");
    }
    assertEquals(3.0, MetricsFile.read(three.resolve(MetricsFile.FILE_NAME)).get(2).get("policy_version"));
  }

  @Test
  void fourJvmsWithTwoRankTrainersAndTensorParallelInferenceGiveTheRewardsOfOne() throws Exception {
    Path rm = rewardModel();
    Path one = oneJvmRun(rm);
    Path four = tmp.resolve("four");
    int seed = NodeProcess.freePort();
    String seedAddress = "127.0.0.1:" + seed;
    List<String> common = run(four, rm, "--actor_num_gpus_per_node", "2", "--critic_num_gpus_per_node", "2",
        "--zero_stage", "3", "--vllm_tensor_parallel_size", "2", "--ref_num_gpus_per_node", "2",
        "--reward_num_gpus_per_node", "2");
    try (NodeProcess sup = NodeProcess.start(tmp.resolve("sup4.log"),
            concat(common, "--role", "supervisor", "--port", String.valueOf(seed)));
        NodeProcess trainer = NodeProcess.start(tmp.resolve("trainer4.log"),
            concat(common, "--role", "trainer", "--port", "0", "--seed", seedAddress));
        NodeProcess rollout = NodeProcess.start(tmp.resolve("rollout4.log"),
            concat(common, "--role", "rollout", "--port", "0", "--seed", seedAddress));
        NodeProcess scorers = NodeProcess.start(tmp.resolve("scorers4.log"),
            concat(common, "--role", "reward,reference,critic", "--port", "0", "--seed", seedAddress))) {
      assertEquals(0, sup.waitFor(LIMIT), sup.tail());
      for (NodeProcess p : List.of(trainer, rollout, scorers)) {
        assertEquals(0, p.waitFor(Duration.ofMinutes(1)), p.tail());
      }
      // weights travel over Artery here, so the only Gloo group a rollout JVM forms is its tensor-parallel one
      assertTrue(Files.readString(tmp.resolve("rollout4.log")).contains("Rank 1 is connected to 1 peer"),
          rollout.tail());
    }
    assertSameRewards(one, four);
  }
}
