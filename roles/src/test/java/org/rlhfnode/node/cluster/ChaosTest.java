package org.rlhfnode.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.Main;

/**
 * The chaos test of the fault-recovery contract: the seeded example as four JVMs on 127.0.0.1 under the
 * restarting launcher ({@code launch-scripts/local-cluster.sh}: supervisor+trainer, two rollout nodes,
 * reward+reference+critic), and {@code kill -9} of the trainer's node (which is also the supervisor's),
 * the critic's node, the supervisor's node again and a rollout node, one after another, each at a
 * randomised point (seeded; the seed is printed, {@code -Dchaos.seed=N} picks other points). The run completes
 * every iteration with exit code 0, {@code metrics.jsonl} holds each iteration once, and every
 * iteration's numbers equal the undisturbed one-JVM run's bit for bit.
 */
class ChaosTest {
  private static final Path REPO = Path.of(System.getProperty("rlhf.repo"));
  private static final Duration LIMIT = Duration.ofMinutes(8);
  private static final int ITERATIONS = 36;

  @TempDir(cleanup = CleanupMode.ON_SUCCESS) // the node logs stay for a failed run
  Path tmp;

  /** Run settings as a HOCON file (flat OpenRLHF names), the same for both runs but the output. */
  private static Path config(Path rm, Path save) throws IOException {
    return config(rm, save, "--max_iterations", String.valueOf(ITERATIONS), "--num_episodes", "6",
        "--recovery_timeout_s", "180");
  }

  /** {@link PpoResumeTest#run} with {@code extra} as a HOCON file beside {@code save}. */
  static Path config(Path rm, Path save, String... extra) throws IOException {
    List<String> flags = PpoResumeTest.run(save, rm, extra);
    StringBuilder hocon = new StringBuilder();
    for (int i = 0; i < flags.size(); i++) {
      String key = flags.get(i).substring(2);
      boolean bare = i + 1 >= flags.size() || flags.get(i + 1).startsWith("--");
      String value = bare ? "true" : flags.get(++i);
      hocon.append(key).append(" = \"").append(value).append("\"\n");
    }
    Path file = save.resolveSibling(save.getFileName() + ".conf");
    Files.writeString(file, hocon.toString());
    return file;
  }

  static int freeBase() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int base;
      try (ServerSocket s = new ServerSocket(0)) {
        base = s.getLocalPort();
      }
      if (base < 60000 && allFree(base, 4)) {
        return base;
      }
    }
    throw new IOException("no 4 consecutive free ports");
  }

  private static boolean allFree(int base, int n) {
    for (int p = base; p < base + n; p++) {
      try (ServerSocket s = new ServerSocket(p)) {
        s.setReuseAddress(true);
      } catch (IOException e) {
        return false;
      }
    }
    return true;
  }

  static int rows(Path save) {
    return PpoResumeTest.rows(save).size();
  }

  /** Waits until metrics.jsonl has at least {@code n} rows (rows drop back at a rollback), checking every 100 ms. */
  static void awaitRows(Process launcher, Path save, int n) throws InterruptedException {
    long deadline = System.nanoTime() + LIMIT.toNanos();
    while (rows(save) < n) {
      assertTrue(launcher.isAlive(), "the launcher ended (exit " + (launcher.isAlive() ? "-" : launcher.exitValue())
          + ") before iteration " + n + "; logs in " + save.resolveSibling("logs"));
      assertTrue(System.nanoTime() < deadline, "no iteration " + n + " within " + LIMIT);
      launcher.waitFor(100, TimeUnit.MILLISECONDS);
    }
  }

  static long pid(Path logs, String node) throws IOException {
    return Long.parseLong(Files.readString(logs.resolve(node + ".pid")).trim());
  }

  @Test
  void killingEveryKindOfNodeInTurnChangesNothing() throws Exception {
    // a fixed default keeps CI reproducible; -Dchaos.seed=N (or examples/chaos-ppo.sh) tries other points
    long seed = Long.getLong("chaos.seed", 20_261_203L);
    System.out.println("ChaosTest seed " + seed + " (repeat with -Dchaos.seed=" + seed + ")");
    Random random = new Random(seed);
    Path rm = PpoResumeTest.rewardModel(tmp.resolve("rm"));
    Path undisturbed = tmp.resolve("undisturbed");
    try (NodeProcess all = NodeProcess.start(tmp.resolve("all.log"),
        List.of("--role", "all", "--config", config(rm, undisturbed).toString()))) {
      assertEquals(0, all.waitFor(LIMIT), all.tail());
    }
    Path save = tmp.resolve("chaos");
    Path logs = tmp.resolve("logs");
    Process launcher = launch(config(rm, save), "main=supervisor,trainer r1=rollout r2=rollout "
        + "scorers=reward,reference,critic", logs, tmp.resolve("launcher.log"));
    try {
      List<String> kills = new ArrayList<>();
      int at = 0;
      // one failure at a time: the run pauses for a lost supervisor, trainer or scorer until it is back, but goes on
      // with the other rollout node, so the rollout node is killed last (killing the supervisor while a rollout
      // node is still restarting would be two of four nodes down, a split the resolver downs entirely)
      for (String node : List.of("main", "scorers", "main", random.nextBoolean() ? "r1" : "r2")) {
        at += 3 + random.nextInt(4);
        awaitRows(launcher, save, at);
        launcher.waitFor(random.nextInt(400), TimeUnit.MILLISECONDS); // a random point inside the next iteration
        long victim = pid(logs, node);
        new ProcessBuilder("kill", "-9", String.valueOf(victim)).start().waitFor();
        kills.add(node + " (pid " + victim + ") after iteration " + rows(save));
        System.out.println("ChaosTest: killed " + kills.get(kills.size() - 1));
        awaitRows(launcher, save, at + 1); // recovered and past the point of the kill
      }
      assertTrue(launcher.waitFor(LIMIT.toMillis(), TimeUnit.MILLISECONDS), "the run did not end");
      assertEquals(0, launcher.exitValue(), "launcher exit; kills " + kills + "; log " + tmp.resolve("launcher.log"));
      PpoResumeTest.assertSameRun(PpoResumeTest.rows(undisturbed), PpoResumeTest.rows(save));
      assertEquals(ITERATIONS, rows(save));
    } finally {
      launcher.descendants().forEach(ProcessHandle::destroyForcibly);
      launcher.destroyForcibly();
    }
  }

  /** {@code launch-scripts/local-cluster.sh} over {@code nodes}, restarting each node up to 3 times. */
  static Process launch(Path config, String nodes, Path logs, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder("bash", REPO.resolve("launch-scripts/local-cluster.sh").toString(),
        config.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("RLHF_NODES", nodes);
    pb.environment().put("RLHF_NODE_CMD", Path.of(System.getProperty("java.home"), "bin", "java") + " -Xmx768m -cp "
        + System.getProperty("java.class.path") + " " + Main.class.getName());
    pb.environment().put("RLHF_BASE_PORT", String.valueOf(freeBase()));
    pb.environment().put("RLHF_LOG_DIR", logs.toString());
    pb.environment().put("RLHF_MAX_RESTARTS", "3");
    pb.environment().put("RLHF_RESTART_BACKOFF", "1");
    pb.environment().put("RLHF_PROGRESS", "plain");
    return pb.start();
  }
}
