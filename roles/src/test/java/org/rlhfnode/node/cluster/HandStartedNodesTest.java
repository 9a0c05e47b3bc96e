package org.rlhfnode.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault-recovery contract with nodes started by hand as docs/operations.md shows: a supervisor node,
 * a trainer node, a rollout node and a reward,reference,critic node, each with its port and the same seed
 * list naming the supervisor's and the trainer's nodes. The trainer's node and then the supervisor's own
 * node are killed with {@code kill -9} mid-run and started again with the identical command line: the run
 * completes with exit code 0 on the supervisor's node, each iteration once, and the numbers of an
 * undisturbed {@code --role all} run.
 */
class HandStartedNodesTest {
  private static final Duration LIMIT = Duration.ofMinutes(5);
  private static final int ITERATIONS = 16;

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  @Test
  void theTrainerAndTheSupervisorNodeEachSurviveAKillAndARestart() throws Exception {
    Path rm = PpoResumeTest.rewardModel(tmp.resolve("rm"));
    List<String> extra = List.of("--max_iterations", String.valueOf(ITERATIONS), "--num_episodes", "3");
    Path undisturbed = tmp.resolve("undisturbed");
    try (NodeProcess all = NodeProcess.start(tmp.resolve("all.log"),
        PpoResumeTest.with(PpoResumeTest.run(undisturbed, rm, extra.toArray(String[]::new)), "--role", "all"))) {
      assertEquals(0, all.waitFor(LIMIT), all.tail());
    }
    Path save = tmp.resolve("nodes");
    List<String> settings = PpoResumeTest.run(save, rm, extra.toArray(String[]::new));
    int[] ports = {NodeProcess.freePort(), NodeProcess.freePort(), NodeProcess.freePort(), NodeProcess.freePort()};
    String seeds = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1];
    Map<String, List<String>> commands = new LinkedHashMap<>();
    String[] roles = {"supervisor", "trainer", "rollout", "reward,reference,critic"};
    for (int i = 0; i < roles.length; i++) {
      List<String> cmd = new ArrayList<>(List.of("--role", roles[i], "--host", "127.0.0.1", "--port",
          String.valueOf(ports[i]), "--seed", seeds));
      cmd.addAll(settings);
      commands.put(roles[i], cmd);
    }
    Map<String, NodeProcess> nodes = new LinkedHashMap<>();
    try {
      commands.forEach((role, cmd) -> nodes.put(role, NodeProcess.start(tmp.resolve(role + ".log"), cmd)));
      for (String victim : List.of("trainer", "supervisor")) {
        int at = PpoResumeTest.rows(save).size() + 3;
        nodes.get("supervisor").awaitRows(save, at, LIMIT);
        nodes.get(victim).kill();
        nodes.put(victim, NodeProcess.start(tmp.resolve(victim + ".log"), commands.get(victim)));
        nodes.get("supervisor").awaitRows(save, at + 1, LIMIT);
      }
      assertEquals(0, nodes.get("supervisor").waitFor(LIMIT), nodes.get("supervisor").tail());
    } finally {
      nodes.values().forEach(NodeProcess::close);
    }
    PpoResumeTest.assertSameRun(PpoResumeTest.rows(undisturbed), PpoResumeTest.rows(save));
    assertEquals(ITERATIONS, PpoResumeTest.rows(save).size());
  }
}
