package org.rlhfnode.messages;

import java.util.List;
import java.util.Map;

/**
 * Trainer ({@code role}) → supervisor: {@link TrainStep} {@code stepId} is finished; the weights are now version
 * {@code policyVersion}. {@code batchIds} are the batches consumed (each exactly once), and
 * {@code metrics} the per-iteration numbers for metrics.jsonl ({@code policy_loss}, {@code value_loss},
 * {@code kl}, {@code entropy}, ...; NaN allowed). A step that could not run (a batch too stale, a version
 * mismatch, a failed update) has a non-empty {@code error}, consumed no batch and left the weights as they were.
 */
public record TrainStepDone(RequestId stepId, Role role, long iteration, long policyVersion,
    List<RequestId> batchIds, Map<String, Double> metrics, String error) implements WireMessage {

  /** Checks the fields and copies the collections. */
  public TrainStepDone {
    Checks.notNull(stepId, "TrainStepDone", "stepId");
    Checks.notNull(role, "TrainStepDone", "role");
    Checks.nonNegative(iteration, "TrainStepDone", "iteration");
    Checks.nonNegative(policyVersion, "TrainStepDone", "policyVersion");
    batchIds = List.copyOf(Checks.notNull(batchIds, "TrainStepDone", "batchIds"));
    metrics = Map.copyOf(Checks.notNull(metrics, "TrainStepDone", "metrics"));
    Checks.notNull(error, "TrainStepDone", "error");
  }

  /** A step that did not run, with the reason; the weights stay at {@code policyVersion}. */
  public static TrainStepDone failed(TrainStep step, Role role, long policyVersion, String error) {
    return new TrainStepDone(step.stepId(), role, step.iteration(), policyVersion, List.of(), Map.of(), error);
  }

  /** Whether the step ran. */
  public boolean ok() {
    return error.isEmpty();
  }
}
