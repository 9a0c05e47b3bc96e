package org.rlhfnode.node.supervisor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.RoleKeys;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.ScorerCommand;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.messages.WireTensor;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.metrics.MetricsFile;
import org.rlhfnode.runtime.metrics.MetricsRow;

/**
 * Dynamic filtering and labels through the supervisor, against scripted roles: each prompt's label
 * reaches the reward role with every one of its samples; groups whose mean score is 0 or 1 are replaced
 * by new prompts until the batch is full; when too few groups pass the iteration trains on those that
 * did, and when none passes the run ends with one line saying so.
 */
class DynamicFilteringTest extends ScriptedRunTest {
  private final Set<String> labelsSeen = ConcurrentHashMap.newKeySet();

  /**
   * Scores by label: "mixed" gives the first sample of each group 1 and the second 0 (mean 0.5, kept),
   * "one" 1 and "zero" 0 for both (mean 1 or 0, filtered); an extra log "acc" = 0.25 for every sample.
   */
  private ActorRef<ScorerCommand> labelReward() {
    ActorRef<ScorerCommand> ref = kit.spawn(Behaviors.receive(ScorerCommand.class)
        .onMessage(ScoreRequest.class, r -> {
          double[] scores = new double[r.labels().size()];
          double[] acc = new double[scores.length];
          for (int i = 0; i < scores.length; i++) {
            String label = r.labels().get(i);
            labelsSeen.add(label);
            scores[i] = label.equals("one") ? 1 : label.equals("mixed") && i % 2 == 0 ? 1 : 0;
            acc[i] = 0.25;
          }
          r.replyTo().tell(new ScoredExperience(r.requestId(), r.policyVersion(),
              org.rlhfnode.messages.Role.REWARD, WireArrays.perSequence(TensorNames.SCORES, scores)
                  .with(TensorNames.EXTRA_LOG_PREFIX + "acc", WireArrays.sequenceValues(acc))));
          return Behaviors.same();
        }).build(), "label-reward-" + run);
    kit.system().receptionist().tell(org.apache.pekko.actor.typed.receptionist.Receptionist.register(
        RoleKeys.REWARD, ref));
    return ref;
  }

  private Path prompts(String... labels) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < labels.length; i++) {
      sb.append("{\"input\": \"Name thing ").append(i).append(".\", \"answer\": \"").append(labels[i]).append("\"}\n");
    }
    return Files.writeString(tmp.resolve("labelled.jsonl"), sb.toString());
  }

  private ScriptedRoles roles() {
    ScriptedRoles roles = new ScriptedRoles(kit, "f");
    roles.rollout(0);
    roles.policy();
    labelReward();
    return roles;
  }

  private TestProbe<Supervisor.Outcome> start(Path save, int iterations, Path data) {
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    start(settings(save, iterations, "--prompt_data", data.toString(), "--label_key", "answer",
        "--dynamic_filtering", "--dynamic_filtering_reward_range", "0", "1"), outcome);
    return outcome;
  }

  private static float[] scores(ExperienceBatch b) {
    return b.tensors().require(TensorNames.SCORES).toFloatArray();
  }

  @Test
  void filteredGroupsAreReplacedUntilTheBatchIsFullAndLabelsReachTheReward() throws IOException {
    ScriptedRoles roles = roles();
    Path save = tmp.resolve("full");
    Supervisor.Outcome o = start(save, 2, prompts("one", "mixed", "zero", "mixed", "one", "mixed"))
        .expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
    for (ExperienceBatch b : roles.batches.receiveSeveralMessages(2, WAIT)) {
      // 2 groups of 2 samples, both "mixed": scores 1, 0 in each
      assertArrayEquals(new float[] {1, 0, 1, 0}, scores(b), 0f, b.batchId().toString());
    }
    assertTrue(labelsSeen.contains("mixed") && labelsSeen.contains("one") && labelsSeen.contains("zero"),
        labelsSeen.toString());
    for (MetricsRow r : MetricsFile.read(save.resolve(MetricsFile.FILE_NAME))) {
      double passRate = r.get("dynamic_filtering_pass_rate");
      assertTrue(passRate > 0 && passRate <= 100, "kept 2 of the groups tried: " + passRate);
      assertEquals(0.5, r.get("reward_mean"));
      assertEquals(0.25, r.get("remote_acc"));
    }
  }

  @Test
  void whenTheReplacementsRunOutTheGroupsThatPassedAreTrained() throws IOException {
    ScriptedRoles roles = roles();
    Path save = tmp.resolve("partial");
    Supervisor.Outcome o = start(save, 1, prompts("one", "zero", "mixed", "one"))
        .expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
    assertArrayEquals(new float[] {1, 0}, scores(roles.batches.expectMessageClass(ExperienceBatch.class, WAIT)), 0f);
    MetricsRow r = MetricsFile.read(save.resolve(MetricsFile.FILE_NAME)).get(0);
    assertEquals(25.0, r.get("dynamic_filtering_pass_rate"), "1 of the 4 prompts' groups passed");
    assertEquals(2.0, r.get("samples"));
  }

  @Test
  void whenNoGroupPassesTheRunEndsSayingSo() throws IOException {
    roles();
    Supervisor.Outcome o = start(tmp.resolve("none"), 1, prompts("one", "zero", "one"))
        .expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertEquals(1, o.exitCode());
    assertEquals("iteration 1: dynamic filtering: none of the 3 prompt groups tried had a mean score strictly "
        + "inside (0.0, 1.0); nothing to train on", o.error());
  }

  @Test
  void replacementsAreThePromptsOutsideTheBatchInASeededOrder() throws IOException {
    Path data = prompts("a", "b", "c", "d", "e", "f");
    org.rlhfnode.node.ppo.RunPlan plan = org.rlhfnode.node.ppo.RunPlan.load(settings(tmp.resolve("plan"), 1,
        "--prompt_data", data.toString(), "--label_key", "answer"));
    List<String> batch = plan.batchFor(0).labels();
    List<String> all = plan.replacementsFor(0, 0, 10).labels();
    assertEquals(4, all.size());
    assertTrue(all.stream().noneMatch(batch::contains), batch + " vs " + all);
    assertEquals(all.subList(1, 3), plan.replacementsFor(0, 1, 2).labels());
    assertEquals(all, plan.replacementsFor(0, 0, 4).labels(), "the same order every time");
  }
}
