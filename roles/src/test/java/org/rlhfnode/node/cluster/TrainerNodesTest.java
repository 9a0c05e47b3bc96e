package org.rlhfnode.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A policy trainer whose ranks span two nodes ({@code --actor_num_nodes 2}, ZeRO-3, one rank per node)
 * runs the seeded PPO example as four JVMs under the restarting launcher: supervisor, two trainer nodes,
 * and rollout+reward+reference+critic. Each iteration's numbers equal those of the one-JVM run with the
 * same two ranks as threads ({@code --role all --actor_num_gpus_per_node 2}) bit for bit, also after
 * {@code kill -9} of the following trainer node and later of the leading one: the lead gives the group up,
 * the supervisor sees the policy role lost, and once the node is back a new group forms and is restored
 * from the last checkpoint.
 */
class TrainerNodesTest {
  private static final Duration LIMIT = Duration.ofMinutes(6);
  private static final String ITERATIONS = "8";

  @TempDir(cleanup = CleanupMode.ON_SUCCESS) // the node logs stay for a failed run
  Path tmp;

  @Test
  void aTrainerOverTwoNodesMatchesOneJvmAndSurvivesLosingEitherNode() throws Exception {
    Path rm = PpoResumeTest.rewardModel(tmp.resolve("rm"));
    Path threads = tmp.resolve("threads");
    try (NodeProcess all = NodeProcess.start(tmp.resolve("all.log"), List.of("--role", "all", "--config",
        ChaosTest.config(rm, threads, "--max_iterations", ITERATIONS, "--zero_stage", "3",
            "--actor_num_gpus_per_node", "2").toString()))) {
      assertEquals(0, all.waitFor(LIMIT), all.tail());
    }
    Path save = tmp.resolve("nodes");
    Path logs = tmp.resolve("logs");
    Path config = ChaosTest.config(rm, save, "--max_iterations", ITERATIONS, "--zero_stage", "3", "--actor_num_nodes",
        "2", "--recovery_timeout_s", "180");
    Process launcher = ChaosTest.launch(config, "main=supervisor t1=trainer t2=trainer "
        + "rest=rollout,reward,reference,critic", logs, tmp.resolve("launcher.log"));
    try {
      for (String node : List.of("t2", "t1")) { // the follower, then the lead (t1 sorts first, so it leads)
        ChaosTest.awaitRows(launcher, save, ChaosTest.rows(save) + 3);
        new ProcessBuilder("kill", "-9", String.valueOf(ChaosTest.pid(logs, node))).start().waitFor();
        System.out.println("TrainerNodesTest: killed " + node + " after iteration " + ChaosTest.rows(save));
      }
      assertTrue(launcher.waitFor(LIMIT.toMillis(), TimeUnit.MILLISECONDS), "the run did not end");
      assertEquals(0, launcher.exitValue(), "launcher exit; log " + tmp.resolve("launcher.log"));
    } finally {
      launcher.descendants().forEach(ProcessHandle::destroyForcibly);
      launcher.destroyForcibly();
    }
    PpoResumeTest.assertSameRun(PpoResumeTest.rows(threads), PpoResumeTest.rows(save));
    String lead = Files.readString(logs.resolve("t1.log"));
    String follower = Files.readString(logs.resolve("t2.log"));
    assertTrue(lead.contains("this node leads the trainer over 2 nodes"), "t1 led");
    // the lead learns of the follower's loss by whichever comes first: a collective of the step in flight
    // failing, or the receptionist's listing losing the follower's rank host while the trainer is between steps
    assertTrue(lead.contains("the trainer's group over several nodes failed")
        || lead.contains("a node of the trainer's group is gone"), "t1 saw the follower go");
    assertTrue(follower.contains("the lead trainer") && follower.contains("is gone"), "t2 saw the lead go");
  }
}
