package org.rlhfnode.messages;

/**
 * Reference, reward or critic → supervisor: the scores for one {@link ScoreRequest}. {@code scorer}
 * names the source ({@code "reference"}, {@code "critic"}, {@code "reward:0"}, ...) so several reward
 * sources can be combined; tensors are e.g. {@link TensorNames#REF_LOG_PROBS}, {@link TensorNames#VALUES}
 * or {@link TensorNames#SCORES}, batch first. {@code policyVersion} is copied from the request.
 */
public record ScoredExperience(String requestId, long policyVersion, String scorer, TensorMap tensors)
    implements TensorMessage, ScoreReply {

  /** Checks the fields and the common batch dimension. */
  public ScoredExperience {
    Checks.nonBlank(requestId, "ScoredExperience", "requestId");
    Checks.nonNegative(policyVersion, "ScoredExperience", "policyVersion");
    Checks.nonBlank(scorer, "ScoredExperience", "scorer");
    Checks.notNull(tensors, "ScoredExperience", "tensors");
    tensors.batchSize("ScoredExperience");
  }
}
