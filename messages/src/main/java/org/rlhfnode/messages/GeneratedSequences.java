package org.rlhfnode.messages;

/**
 * Rollout engine → supervisor: the sampled sequences of one {@link RolloutRequest}, generated with
 * weight version {@code policyVersion}. Sequence i belongs to prompt i / {@code samplesPerPrompt};
 * the n samples of a prompt are adjacent (a group). Tensors: at least {@link TensorNames#SEQUENCES},
 * usually also {@link TensorNames#ATTENTION_MASK}, {@link TensorNames#ACTION_MASK},
 * {@link TensorNames#TRUNCATED} and {@link TensorNames#ROLLOUT_LOG_PROBS}, all with batch B first.
 */
public record GeneratedSequences(RequestId requestId, long policyVersion, int samplesPerPrompt, TensorMap tensors)
    implements RolloutReply, TensorMessage {

  /** Checks the fields, the presence of the sequences and the common batch dimension. */
  public GeneratedSequences {
    Checks.notNull(requestId, "GeneratedSequences", "requestId");
    Checks.nonNegative(policyVersion, "GeneratedSequences", "policyVersion");
    Checks.positive(samplesPerPrompt, "GeneratedSequences", "samplesPerPrompt");
    Checks.notNull(tensors, "GeneratedSequences", "tensors");
    tensors.require(TensorNames.SEQUENCES);
    long batch = tensors.batchSize("GeneratedSequences");
    if (batch % samplesPerPrompt != 0) {
      throw new IllegalArgumentException("GeneratedSequences: batch " + batch
          + " is not a multiple of samplesPerPrompt " + samplesPerPrompt);
    }
  }

  /** Number of sequences B. */
  public long batchSize() {
    return tensors.batchSize("GeneratedSequences");
  }
}
