package org.rlhfnode.messages;

import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Supervisor → policy (or critic) trainer: run the updates of iteration {@code iteration} over the
 * experience batches {@code batchIds} (already delivered as {@link ExperienceBatch}es), starting from
 * weight version {@code policyVersion}. The trainer answers {@link TrainStepDone} with the new version;
 * a mismatch between its own version and {@code policyVersion} is a protocol error it reports, not ignores.
 */
public record TrainStep(RequestId stepId, long iteration, long policyVersion, List<RequestId> batchIds,
    ActorRef<TrainStepDone> replyTo) implements TrainerCommand {

  /** Checks the fields and copies the batch ids. */
  public TrainStep {
    Checks.notNull(stepId, "TrainStep", "stepId");
    Checks.nonNegative(iteration, "TrainStep", "iteration");
    Checks.nonNegative(policyVersion, "TrainStep", "policyVersion");
    batchIds = List.copyOf(Checks.notNull(batchIds, "TrainStep", "batchIds"));
    if (batchIds.isEmpty()) {
      throw new IllegalArgumentException("TrainStep.batchIds must not be empty");
    }
    Checks.notNull(replyTo, "TrainStep", "replyTo");
  }
}
