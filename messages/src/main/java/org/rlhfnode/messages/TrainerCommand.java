package org.rlhfnode.messages;

/**
 * What a training role (policy trainer, critic) accepts: {@link ScoreRequest} (lp_old or V_old),
 * {@link ExperienceBatch}, {@link TrainStep}, {@link SyncWeights}, {@link CheckpointRequest} and
 * {@link StatusQuery}. Not sealed, so that a role's private messages can share its mailbox type.
 */
public interface TrainerCommand extends WireMessage {}
