package org.rlhfnode.messages;

/**
 * Supervisor → policy and critic trainers (through work pulling): one batch of finished experience
 * for iteration {@code iteration}, generated with weight version {@code policyVersion}. The trainer
 * refuses a batch more than {@code max_staleness} versions behind its own. {@code batchId} is unique
 * per run lineage so that every batch is accounted exactly once. Tensors (batch first): sequences and masks,
 * {@link TensorNames#OLD_LOG_PROBS}, {@link TensorNames#ADVANTAGES}, and where the algorithm uses them
 * {@link TensorNames#REF_LOG_PROBS}, {@link TensorNames#VALUES}, {@link TensorNames#RETURNS},
 * {@link TensorNames#ROLLOUT_LOG_PROBS}.
 */
public record ExperienceBatch(RequestId batchId, long iteration, long policyVersion, TensorMap tensors)
    implements TensorMessage, TrainerCommand, RankCommand {

  /** Checks the fields, the presence of the sequences and the common batch dimension. */
  public ExperienceBatch {
    Checks.notNull(batchId, "ExperienceBatch", "batchId");
    Checks.nonNegative(iteration, "ExperienceBatch", "iteration");
    Checks.nonNegative(policyVersion, "ExperienceBatch", "policyVersion");
    Checks.notNull(tensors, "ExperienceBatch", "tensors");
    tensors.require(TensorNames.SEQUENCES);
    tensors.batchSize("ExperienceBatch");
  }

  /** Number of sequences B. */
  public long batchSize() {
    return tensors.batchSize("ExperienceBatch");
  }

  /** How many versions this batch lags behind {@code currentVersion} (0 when on-policy). */
  public long staleness(long currentVersion) {
    return Math.max(0, currentVersion - policyVersion);
  }
}
