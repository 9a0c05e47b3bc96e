package org.rlhfnode.messages;

import java.util.List;
import java.util.Map;

/**
 * Trainer → supervisor: {@link TrainStep} {@code stepId} is finished; the weights are now version
 * {@code policyVersion}. {@code batchIds} are the batches consumed (each exactly once), and
 * {@code metrics} the per-iteration numbers for metrics.jsonl ({@code policy_loss}, {@code value_loss},
 * {@code kl}, {@code entropy}, ...; NaN allowed).
 */
public record TrainStepDone(String stepId, long iteration, long policyVersion, List<String> batchIds,
    Map<String, Double> metrics) implements WireMessage {

  /** Checks the fields and copies the collections. */
  public TrainStepDone {
    Checks.nonBlank(stepId, "TrainStepDone", "stepId");
    Checks.nonNegative(iteration, "TrainStepDone", "iteration");
    Checks.nonNegative(policyVersion, "TrainStepDone", "policyVersion");
    batchIds = List.copyOf(Checks.notNull(batchIds, "TrainStepDone", "batchIds"));
    metrics = Map.copyOf(Checks.notNull(metrics, "TrainStepDone", "metrics"));
  }
}
