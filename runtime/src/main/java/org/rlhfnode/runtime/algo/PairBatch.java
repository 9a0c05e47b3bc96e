package org.rlhfnode.runtime.algo;

import org.rlhfnode.runtime.train.TokenBatch;

/**
 * P preference pairs as one right-padded batch of 2P rows — rows 0..P−1 chosen, P..2P−1 rejected,
 * each prompt + response with the response in the loss mask — so both sides share one forward pass.
 *
 * @param margins per-pair margin μ (reward models), or null
 */
public record PairBatch(TokenBatch sequences, float[] margins) {
  public PairBatch {
    if (sequences.rows() % 2 != 0) {
      throw new IllegalArgumentException("a pair batch needs an even number of rows, got " + sequences.rows());
    }
    if (margins != null && margins.length != sequences.rows() / 2) {
      throw new IllegalArgumentException("one margin per pair expected");
    }
  }

  /** Number of pairs P. */
  public int pairs() {
    return sequences.rows() / 2;
  }
}
