package org.rlhfnode.node.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The pipeline's rules: at most max_staleness + 1 iterations started but untrained, weights at most
 * max_staleness versions old, and a checkpoint barrier: nothing at or after a save_steps boundary starts
 * before the boundary's checkpoint is committed, so each checkpoint is taken with nothing in flight.
 */
class PipelineTest {

  private static Iteration scored(Pipeline p, int index) {
    Iteration it = new Iteration(new IterationRun.Scored(0, index, false, null, Map.of(), 0, 0, 0, Double.NaN));
    p.scored(it);
    return it;
  }

  /** Iteration {@code it} trains to {@code version} and its weights reach the engines. */
  private static void trainAndSync(Pipeline p, Iteration it, long version) {
    p.trainingStarted();
    p.trainingDone(version);
    p.synced(version, it);
  }

  @Test
  void stalenessOneRunsOneIterationAheadButNotPastACheckpointBarrier() {
    Pipeline p = new Pipeline(6, 1, 2);
    p.restoredAt(0, 0);
    assertEquals(0, p.start());
    assertTrue(p.canStart(), "iteration 1 may generate from version 0 while 0 trains");
    assertEquals(1, p.start());
    assertFalse(p.canStart(), "two iterations in flight");
    Iteration it0 = scored(p, 0);
    Iteration it1 = scored(p, 1);
    trainAndSync(p, it0, 1);
    assertFalse(p.canStart(), "iteration 2 waits for the checkpoint of the boundary at 2");
    assertFalse(p.checkpointDue());
    trainAndSync(p, it1, 2);
    assertTrue(p.checkpointDue(), "two iterations trained");
    assertTrue(p.drained(), "nothing in flight at the boundary");
    p.checkpointed(2);
    assertFalse(p.checkpointDue());
    assertTrue(p.canStart());
    assertEquals(2, p.start());
  }

  @Test
  void theLastIterationIsAlwaysCheckpointedAndNothingWithoutSaveSteps() {
    Pipeline p = new Pipeline(3, 0, 2);
    p.restoredAt(2, 2);
    assertEquals(2, p.start());
    trainAndSync(p, scored(p, 2), 3);
    assertTrue(p.checkpointDue(), "the run's last iteration");
    assertTrue(p.complete());
    Pipeline none = new Pipeline(3, 0, -1);
    none.restoredAt(0, 0);
    none.start();
    trainAndSync(none, scored(none, 0), 1);
    assertFalse(none.checkpointDue());
    assertTrue(none.unsaved(), "a TERM would still checkpoint it");
  }

  @Test
  void aStopDropsWhatIsNotTrainingAndKeepsTheStepInTraining() {
    Pipeline p = new Pipeline(10, 1, -1);
    p.restoredAt(0, 0);
    p.start();
    p.start();
    Iteration it0 = scored(p, 0);
    p.trainingStarted();
    assertEquals(List.of(1), p.dropUntrained(), "the rollout of iteration 1 stops");
    assertTrue(p.training());
    assertTrue(p.scoredAt(0) == it0, "the step in training stays");
    p.trainingDone(1);
    p.synced(1, it0);
    assertTrue(p.drained());
    assertEquals(1, p.trained());
  }
}
