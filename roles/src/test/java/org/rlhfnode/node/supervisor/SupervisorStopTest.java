package org.rlhfnode.node.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;
import org.rlhfnode.messages.RestoreState;
import org.rlhfnode.messages.SyncWeights;
import org.rlhfnode.messages.TrainStep;
import org.rlhfnode.node.role.PpoTestSettings;
import org.rlhfnode.runtime.metrics.MetricsFile;
import org.rlhfnode.runtime.metrics.MetricsRow;

/**
 * The supervisor at the edges of a run, against scripted roles: a TERM checkpoints even when an
 * evaluation would have been due and when the rollout engines are already gone; the starting policy's
 * evaluation may finish after later iterations and the rows stay in order; a weight sync that fails after
 * the trainer has moved on (max_staleness 1) rolls the run back to its last checkpoint instead of ending it.
 */
class SupervisorStopTest extends ScriptedRunTest {

  private static List<Double> iterations(Path save) {
    return MetricsFile.read(save.resolve(MetricsFile.FILE_NAME)).stream().map(r -> r.get("iteration")).toList();
  }

  @Test
  void termCheckpointsWhenAnEvaluationWouldBeDueAndTheEnginesAreGone() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a").standard();
    roles.holdSteps.set(true);
    Path save = tmp.resolve("term");
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    ActorRef<Supervisor.Command> sup = start(settings(save, 6, "--eval_prompt_data",
        PpoTestSettings.PROMPTS.toString(), "--eval_max_samples", "2", "--eval_steps", "1"), outcome);
    roles.answer(roles.steps.expectMessageClass(TrainStep.class, WAIT));
    TrainStep second = roles.steps.expectMessageClass(TrainStep.class, WAIT);
    TestProbe<Done> stopped = kit.createTestProbe();
    sup.tell(new Supervisor.Stop(stopped.getRef()));
    roles.failSyncs.set(true); // the rollout nodes left on TERM: a sync would fail
    roles.holdSteps.set(false);
    roles.answer(second);
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertEquals(143, o.exitCode(), o.error());
    stopped.expectMessageClass(Done.class, WAIT);
    assertTrue(Files.isRegularFile(save.resolve("checkpoints/iter_2/manifest.json")));
    assertEquals(List.of(0.0, 1.0, 2.0), iterations(save), "the starting evaluation and two iterations");
  }

  @Test
  void theStartingEvaluationMayFinishLastAndTheRowsStayInOrder() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a").standard();
    roles.holdEvaluations.set(true);
    Path save = tmp.resolve("late-eval");
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    start(settings(save, 3, "--eval_prompt_data", PpoTestSettings.PROMPTS.toString(), "--eval_max_samples", "2"),
        outcome);
    roles.steps.receiveSeveralMessages(3, WAIT); // every iteration trains while evaluation 0 is held
    assertEquals(1, roles.releaseEvaluations(), "the last evaluation waits for the first");
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
    List<MetricsRow> rows = MetricsFile.read(save.resolve(MetricsFile.FILE_NAME));
    assertEquals(List.of(0.0, 1.0, 2.0, 3.0), rows.stream().map(r -> r.get("iteration")).toList());
    assertTrue(Double.isFinite(rows.get(0).get("eval_reward_mean")) && Double.isFinite(rows.get(3)
        .get("eval_reward_mean")));
  }

  @Test
  void aSyncTheTrainerHasMovedPastRollsTheRunBackToItsLastCheckpoint() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a").standard();
    roles.holdSteps.set(true);
    Path save = tmp.resolve("sync-lost");
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    start(settings(save, 4, "--max_staleness", "1", "--save_steps", "2"), outcome);
    assertTrue(roles.restores.expectMessageClass(RestoreState.class, WAIT).initial());
    roles.answer(roles.steps.expectMessageClass(TrainStep.class, WAIT));
    roles.answer(roles.steps.expectMessageClass(TrainStep.class, WAIT)); // version 2 → checkpoint iter_2
    TrainStep third = roles.steps.expectMessageClass(TrainStep.class, WAIT); // iteration 3 trains; 4 is generated
    roles.failSyncOnce.add(3L); // the sync of iteration 3's weights fails while iteration 4 already trains
    roles.holdSteps.set(false);
    roles.answer(third);
    RestoreState back = roles.restores.expectMessageClass(RestoreState.class, WAIT);
    assertEquals(save.resolve("checkpoints/iter_2/policy").toString(), back.checkpoint());
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
    assertEquals(List.of(1.0, 2.0, 3.0, 4.0), iterations(save), "each iteration once");
  }

  @Test
  void aFailedSyncIsSentAgainAfterADelayAndTheRunGoesOn() {
    ScriptedRoles roles = new ScriptedRoles(kit, "a").standard();
    roles.failNextSyncs.set(2); // e.g. the engine's receiver is not yet known on the trainer's node
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    start(settings(tmp.resolve("sync-again"), 2), outcome);
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
    List<SyncWeights> syncs = roles.syncs.receiveSeveralMessages(5, WAIT); // restore ×3, then iterations 1, 2
    assertEquals(List.of(0L, 0L, 0L, 1L, 2L), syncs.stream().map(SyncWeights::version).toList());
  }
}
