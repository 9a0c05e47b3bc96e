package org.rlhfnode.runtime.algo;

import org.rlhfnode.runtime.train.TokenBatch;

/**
 * b KTO examples (prompt + completion, completion in the loss mask) and the b mismatched pairs
 * (prompt i with completion (i + 1) mod b) that estimate the KL anchor, algorithms.md §6.
 */
public record KtoBatch(TokenBatch matched, TokenBatch mismatched, float[] desirable) {
  public KtoBatch {
    if (matched.rows() != mismatched.rows() || desirable.length != matched.rows()) {
      throw new IllegalArgumentException("matched, mismatched and labels must have the same rows");
    }
  }
}
