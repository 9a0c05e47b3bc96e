package org.rlhfnode.messages;

/**
 * Reference, reward or critic → supervisor: the scores for one {@link ScoreRequest}. {@code scorer}
 * names the role that computed them; tensors are e.g. {@link TensorNames#REF_LOG_PROBS}, {@link TensorNames#VALUES}
 * or {@link TensorNames#SCORES}, batch first. {@code policyVersion} is copied from the request.
 */
public record ScoredExperience(RequestId requestId, long policyVersion, Role scorer, TensorMap tensors)
    implements TensorMessage, ScoreReply {

  /** Checks the fields and the common batch dimension. */
  public ScoredExperience {
    Checks.notNull(requestId, "ScoredExperience", "requestId");
    Checks.nonNegative(policyVersion, "ScoredExperience", "policyVersion");
    Checks.notNull(scorer, "ScoredExperience", "scorer");
    Checks.notNull(tensors, "ScoredExperience", "tensors");
    tensors.batchSize("ScoredExperience");
  }
}
