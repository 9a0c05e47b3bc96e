package org.rlhfnode.messages;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Supervisor → reference, reward or critic: score these sequences (no gradient, algorithms.md §7.1).
 * {@code policyVersion} is the version that generated them, carried through so that late answers for an
 * old version can be recognised. Tensors: at least {@link TensorNames#SEQUENCES}, plus the masks the
 * scorer needs. The answer is a {@link ScoredExperience} with the same {@code requestId}.
 */
public record ScoreRequest(RequestId requestId, long policyVersion, TensorMap tensors,
    ActorRef<ScoreReply> replyTo) implements TensorMessage, ScorerCommand, TrainerCommand, RankCommand {

  /** Checks the fields, the presence of the sequences and the common batch dimension. */
  public ScoreRequest {
    Checks.notNull(requestId, "ScoreRequest", "requestId");
    Checks.nonNegative(policyVersion, "ScoreRequest", "policyVersion");
    Checks.notNull(tensors, "ScoreRequest", "tensors");
    tensors.require(TensorNames.SEQUENCES);
    tensors.batchSize("ScoreRequest");
    Checks.notNull(replyTo, "ScoreRequest", "replyTo");
  }
}
