package org.rlhfnode.node.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.RestoreState;
import org.rlhfnode.messages.RoleKeys;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.RolloutRequest;
import org.rlhfnode.messages.SyncWeights;
import org.rlhfnode.messages.TrainStep;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.runtime.metrics.MetricsFile;
import org.rlhfnode.runtime.metrics.MetricsRow;

/**
 * The supervisor's loop against scripted roles (no models): every batch is trained exactly once and
 * every iteration logged; with max_staleness k at most k + 1 iterations are generated ahead of training;
 * a rollout refused for its weight version is asked again; an engine that joins behind is synced before
 * it gets work; a lost policy trainer pauses the run until a replacement restores the last checkpoint,
 * or ends it after recovery_timeout_s.
 */
class SupervisorTest extends ScriptedRunTest {

  private static PpoSettings settings(Path save, int iterations, int maxStaleness, String... extra) {
    List<String> args = new ArrayList<>(List.of("--max_staleness", String.valueOf(maxStaleness)));
    args.addAll(List.of(extra));
    return settings(save, iterations, args.toArray(String[]::new));
  }

  private TestProbe<Supervisor.Outcome> start(PpoSettings s) {
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    start(s, outcome);
    return outcome;
  }

  private static List<String> ids(List<ExperienceBatch> batches) {
    return batches.stream().map(b -> b.batchId().toString()).toList();
  }

  @Test
  void synchronousRunTrainsEveryBatchOnceAndLogsEveryIteration() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a").standard();
    Path save = tmp.resolve("sync");
    Supervisor.Outcome o = start(settings(save, 4, 0)).expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
    assertEquals(0, o.exitCode());
    assertEquals(4, o.iterations());
    assertEquals(4, o.policyVersion());
    assertEquals(List.of("it0", "it1", "it2", "it3"), ids(roles.batches.receiveSeveralMessages(4, WAIT)));
    roles.batches.expectNoMessage(Duration.ofMillis(200));
    List<MetricsRow> rows = MetricsFile.read(save.resolve(MetricsFile.FILE_NAME));
    assertEquals(4, rows.size());
    for (int i = 0; i < 4; i++) {
      MetricsRow r = rows.get(i);
      assertEquals(i + 1, r.get("iteration"));
      assertEquals(i + 1, r.get("policy_version"));
      assertEquals(4.0 * (i + 1), r.get("samples_total")); // 2 prompts × 2 samples, once each
      assertEquals(0, r.get("staleness"));
      assertEquals(2.0, r.get("response_length"));
      assertEquals(0.5, r.get("policy_loss"));
      assertTrue(r.get("reward_mean") >= 0 && r.get("reward_mean") <= 1);
      for (String phase : List.of("time_generate", "time_score", "time_train", "time_sync")) {
        assertTrue(r.get(phase) >= 0, phase);
      }
    }
  }

  @Test
  void maxStalenessOneGeneratesOneIterationAheadAndNoMore() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a").standard();
    roles.holdSteps.set(true);
    TestProbe<Supervisor.Outcome> outcome = start(settings(tmp.resolve("stale1"), 4, 1));
    List<RolloutRequest> first = roles.generates.receiveSeveralMessages(2, WAIT); // their children run concurrently
    assertEquals(List.of("it0-gen-0", "it1-gen-0"), first.stream().map(r -> r.requestId().toString()).sorted().toList());
    assertEquals(List.of(0L, 0L), first.stream().map(RolloutRequest::policyVersion).toList(),
        "iteration 1 is generated from version 0 while 0 trains");
    TrainStep step0 = roles.steps.expectMessageClass(TrainStep.class, WAIT);
    roles.generates.expectNoMessage(Duration.ofMillis(1500)); // bound: 2 iterations in flight
    roles.answer(step0); // version 1 → sync → iteration 2 may start from version 1
    RolloutRequest third = roles.generates.expectMessageClass(RolloutRequest.class, WAIT);
    assertEquals("it2-gen-0", third.requestId().toString());
    assertEquals(1, third.policyVersion());
    TrainStep step1 = roles.steps.expectMessageClass(TrainStep.class, WAIT);
    assertEquals(List.of("it1"), step1.batchIds().stream().map(Object::toString).toList());
    assertEquals(1, step1.policyVersion());
    roles.holdSteps.set(false);
    roles.answer(step1);
    assertTrue(outcome.expectMessageClass(Supervisor.Outcome.class, WAIT).ok());
  }

  @Test
  void synchronousModeWaitsForTrainingBeforeTheNextRollout() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a").standard();
    roles.holdSteps.set(true);
    TestProbe<Supervisor.Outcome> outcome = start(settings(tmp.resolve("stale0"), 2, 0));
    roles.generates.expectMessageClass(RolloutRequest.class, WAIT);
    TrainStep step0 = roles.steps.expectMessageClass(TrainStep.class, WAIT);
    roles.generates.expectNoMessage(Duration.ofMillis(1500));
    roles.holdSteps.set(false);
    roles.answer(step0);
    assertEquals(1, roles.generates.expectMessageClass(RolloutRequest.class, WAIT).policyVersion());
    assertTrue(outcome.expectMessageClass(Supervisor.Outcome.class, WAIT).ok());
  }

  @Test
  void aRefusedRolloutIsAskedAgain() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a").standard();
    roles.rejectFirst.set(1);
    TestProbe<Supervisor.Outcome> outcome = start(settings(tmp.resolve("retry"), 1, 0));
    List<RolloutRequest> asked = roles.generates.receiveSeveralMessages(2, WAIT);
    assertEquals(asked.get(0).requestId(), asked.get(1).requestId());
    assertTrue(outcome.expectMessageClass(Supervisor.Outcome.class, WAIT).ok());
  }

  @Test
  void aRolloutEngineThatLeavesHasItsWorkDoneByAnother() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a");
    roles.policy();
    roles.reward();
    TestProbe<RolloutRequest> silent = kit.createTestProbe();
    ActorRef<RolloutCommand> mute = kit.spawn(Behaviors.receive(RolloutCommand.class)
        .onMessage(RolloutRequest.class, g -> {
          silent.getRef().tell(g);
          return Behaviors.same();
        }).build(), "mute-rollout");
    roles.register(RoleKeys.ROLLOUT, mute);
    TestProbe<Supervisor.Outcome> outcome = start(settings(tmp.resolve("lost-rollout"), 1, 0,
        "--role_timeout_s", "3"));
    RolloutRequest first = silent.expectMessageClass(RolloutRequest.class, WAIT);
    roles.rollout(0);
    kit.stop(mute); // leaves with the request unanswered
    RolloutRequest again = roles.generates.expectMessageClass(RolloutRequest.class, WAIT);
    assertEquals(first.requestId(), again.requestId());
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
  }

  @Test
  void aRolloutEngineThatJoinsBehindIsSyncedBeforeItGetsWork() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a");
    roles.policy();
    roles.reward();
    ActorRef<RolloutCommand> old = roles.rollout(0);
    roles.holdSteps.set(true);
    TestProbe<Supervisor.Outcome> outcome = start(settings(tmp.resolve("joiner"), 3, 0));
    roles.answer(roles.steps.expectMessageClass(TrainStep.class, WAIT)); // iteration 1 → version 1
    TrainStep second = roles.steps.expectMessageClass(TrainStep.class, WAIT);
    // a restarted engine (pretrained weights, version 0) replaces the old one, too late for the next sync
    ActorRef<RolloutCommand> fresh = roles.rollout(0);
    roles.missedByBroadcasts.add(fresh);
    kit.stop(old);
    roles.holdSteps.set(false);
    roles.answer(second); // version 2: iteration 3 needs it, and only the fresh engine is left
    SyncWeights catchUp = roles.syncs.fishForMessage(WAIT, m -> m.engines().isEmpty()
        ? FishingOutcomes.continueAndIgnore()
        : FishingOutcomes.complete()).get(0);
    assertEquals(List.of(fresh), catchUp.engines());
    assertEquals(2, catchUp.version());
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
    assertEquals(3, o.iterations());
  }

  @Test
  void aPolicyTrainerThatLeavesAndDoesNotComeBackEndsTheRunAfterTheRecoveryTimeout() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a");
    roles.rollout(0);
    roles.reward();
    ActorRef<org.rlhfnode.messages.TrainerCommand> policy = roles.policy();
    roles.holdSteps.set(true);
    TestProbe<Supervisor.Outcome> outcome = start(settings(tmp.resolve("lost-policy"), 2, 0,
        "--recovery_timeout_s", "2"));
    roles.steps.expectMessageClass(TrainStep.class, WAIT);
    kit.stop(policy);
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertEquals(1, o.exitCode());
    assertTrue(o.error().contains("no node offering the [policy] role") && o.error().contains("recovery_timeout_s"),
        o.error());
    assertEquals(0, o.iterations());
  }

  @Test
  void aReplacementPolicyTrainerRestoresTheLastCheckpointAndTheRunCompletes() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a");
    roles.rollout(0);
    roles.reward();
    ActorRef<org.rlhfnode.messages.TrainerCommand> policy = roles.policy();
    Path save = tmp.resolve("replaced");
    roles.holdSteps.set(true);
    TestProbe<Supervisor.Outcome> outcome = start(settings(save, 4, 0, "--save_steps", "2"));
    assertTrue(roles.restores.expectMessageClass(RestoreState.class, WAIT).initial(), "a new run starts from scratch");
    roles.answer(roles.steps.expectMessageClass(TrainStep.class, WAIT));
    roles.answer(roles.steps.expectMessageClass(TrainStep.class, WAIT));
    roles.steps.expectMessageClass(TrainStep.class, WAIT); // iteration 3 trains after checkpoint iter_2 ...
    assertTrue(Files.isRegularFile(save.resolve("checkpoints/iter_2/manifest.json")));
    kit.stop(policy); // ... when the trainer is lost
    roles.holdSteps.set(false);
    roles.policy();
    RestoreState restore = roles.restores.expectMessageClass(RestoreState.class, WAIT);
    assertEquals(save.resolve("checkpoints/iter_2/policy").toString(), restore.checkpoint());
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
    assertEquals(4, o.iterations());
    assertEquals(4, o.policyVersion());
    List<MetricsRow> rows = MetricsFile.read(save.resolve(MetricsFile.FILE_NAME));
    assertEquals(List.of(1.0, 2.0, 3.0, 4.0), rows.stream().map(r -> r.get("iteration")).toList());
    assertEquals(16.0, rows.get(3).get("samples_total"), "iteration 3's lost step is not counted");
  }

  @Test
  void termCheckpointsAfterTheStepInTrainingAndEndsWith143() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a").standard();
    Path save = tmp.resolve("term");
    roles.holdSteps.set(true);
    PpoSettings s = settings(save, 6, 0);
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    ActorRef<Supervisor.Command> sup = kit.spawn(Supervisor.create(s, RunPlan.load(s), outcome.getRef()), "sup-" + run);
    roles.answer(roles.steps.expectMessageClass(TrainStep.class, WAIT));
    TrainStep second = roles.steps.expectMessageClass(TrainStep.class, WAIT);
    TestProbe<org.apache.pekko.Done> stopped = kit.createTestProbe();
    sup.tell(new Supervisor.Stop(stopped.getRef()));
    roles.holdSteps.set(false);
    roles.answer(second);
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertEquals(143, o.exitCode(), o.error());
    assertEquals(2, o.iterations());
    stopped.expectMessageClass(org.apache.pekko.Done.class, WAIT);
    assertTrue(Files.isRegularFile(save.resolve("checkpoints/iter_2/manifest.json")), "TERM checkpointed");
    assertEquals(2, MetricsFile.read(save.resolve(MetricsFile.FILE_NAME)).size());
  }
}
