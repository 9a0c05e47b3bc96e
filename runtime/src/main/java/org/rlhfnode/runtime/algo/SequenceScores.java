package org.rlhfnode.runtime.algo;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * Sequence log-likelihood scores of algorithms.md §5: S(y|x) = Σ_t m[t]·lp[t] over the response
 * (prompt and padding masked out), with the number of scored tokens beside it for the length-averaged
 * variants (IPO option, NLL term).
 *
 * @param sums [B] float32 S(y|x); carries the graph of the log-probs it came from
 * @param lengths [B] float32 Σ_t m[t], no gradient
 */
public record SequenceScores(Tensor sums, Tensor lengths) {
  public SequenceScores {
    Checks.sameVectors("sums, lengths", sums, lengths);
  }

  /**
   * Sums the masked log-probs of each row.
   *
   * @param logProbs [B, T] per-token log-probs (shifted frame, §1.2)
   * @param mask [B, T] 0/1 response mask in the same frame
   */
  public static SequenceScores of(Tensor logProbs, Tensor mask) {
    Tensor m = LossReduction.weights(mask, logProbs); // [B, T]
    return new SequenceScores(logProbs.mul(m).sum(1), m.sum(1).detach());
  }

  /** The mean log-prob per scored token, S / max(1, length): [B]. */
  public Tensor means() {
    return sums.div(lengths.clamp_min(new Scalar(1.0)));
  }

  /** The same scores cut from the graph (for reference models and logging). */
  public SequenceScores detach() {
    return new SequenceScores(sums.detach(), lengths);
  }

  /** Number of sequences B. */
  public long size() {
    return sums.size(0);
  }
}
