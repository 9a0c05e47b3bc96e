package org.rlhfnode.messages;

import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Supervisor → reference, reward or critic: score these sequences (no gradient, algorithms.md §7.1).
 * {@code policyVersion} is the version that generated them, carried through so that late answers for an
 * old version can be recognised. Tensors: at least {@link TensorNames#SEQUENCES}, plus the masks the
 * scorer needs. {@code labels} holds each row's label (its prompt's {@code label_key} value, "" when the
 * prompt has none) for the reward role's verifiable rewards, or is empty. The answer is a
 * {@link ScoredExperience} with the same {@code requestId}.
 */
public record ScoreRequest(RequestId requestId, long policyVersion, TensorMap tensors, List<String> labels,
    ActorRef<ScoreReply> replyTo) implements TensorMessage, ScorerCommand, TrainerCommand, RankCommand {

  /** Checks the fields, the presence of the sequences, the common batch dimension and one label per row. */
  public ScoreRequest {
    Checks.notNull(requestId, "ScoreRequest", "requestId");
    Checks.nonNegative(policyVersion, "ScoreRequest", "policyVersion");
    Checks.notNull(tensors, "ScoreRequest", "tensors");
    tensors.require(TensorNames.SEQUENCES);
    long rows = tensors.batchSize("ScoreRequest");
    Checks.notNull(labels, "ScoreRequest", "labels");
    labels = List.copyOf(labels);
    if (!labels.isEmpty() && labels.size() != rows) {
      throw new IllegalArgumentException("ScoreRequest: " + labels.size() + " labels for " + rows + " rows");
    }
    Checks.notNull(replyTo, "ScoreRequest", "replyTo");
  }

  /** A request without labels. */
  public ScoreRequest(RequestId requestId, long policyVersion, TensorMap tensors, ActorRef<ScoreReply> replyTo) {
    this(requestId, policyVersion, tensors, List.of(), replyTo);
  }
}
