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
import org.rlhfnode.node.cli.CliTest;
import org.rlhfnode.node.role.PpoTestSettings;

/**
 * What a node does before and without its supervisor: a model directory of any of its roles that is
 * missing or broken is one error naming the flag, exit code 2, before the node joins (not seconds of
 * retries later); a node whose cluster has no supervisor says what it waits for and gives up with
 * exit code 1 after recovery_timeout_s instead of idling forever.
 */
class NodeStartupTest {
  @TempDir
  Path tmp;

  private List<String> node(String roles, String... extra) {
    List<String> a = new ArrayList<>(List.of("--role", roles, "--port", "0"));
    a.addAll(PpoTestSettings.args(tmp.resolve("save")));
    a.addAll(List.of(extra));
    return a;
  }

  @Test
  void aMissingRewardModelFailsBeforeTheNodeJoins() {
    long start = System.nanoTime();
    CliTest.Run r = CliTest.run(node("all", "--reward_pretrain", tmp.resolve("no-rm").toString())
        .toArray(String[]::new));
    assertEquals(2, r.code(), r.err());
    assertEquals("error: --reward_pretrain " + tmp.resolve("no-rm") + ": no such local directory ("
        + tmp.resolve("no-rm") + "), and not a HuggingFace repository id (org/name or org/name@revision) either",
        r.err().strip());
    assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos(), "at once, not after retries");
  }

  @Test
  void aBrokenModelOfAnotherRoleOnTheNodeIsFoundToo() throws Exception {
    Path broken = Files.createDirectories(tmp.resolve("broken"));
    Files.writeString(broken.resolve("config.json"), "{\"model_type\": \"llama\"");
    CliTest.Run r = CliTest.run(node("reward,reference,critic", "--critic_pretrain", broken.toString(),
        "--advantage_estimator", "gae").toArray(String[]::new));
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().startsWith("error: --critic_pretrain " + broken + ": "), r.err());
  }

  @Test
  void aNodeWithoutASupervisorGivesUpAfterTheRecoveryTimeout() throws Exception {
    try (NodeProcess rollout = NodeProcess.start(tmp.resolve("rollout.log"),
        node("rollout", "--recovery_timeout_s", "3"))) {
      assertEquals(1, rollout.waitFor(Duration.ofSeconds(60)), rollout.tail());
      assertTrue(rollout.log().contains("error: no node with role supervisor for recovery_timeout_s (3 s)"),
          rollout.tail());
    }
  }
}
