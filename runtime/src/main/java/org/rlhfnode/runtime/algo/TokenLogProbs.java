package org.rlhfnode.runtime.algo;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Per-token log-probabilities of a batch under a model, in the shifted frame of algorithms.md §1.2:
 * lp[t] = log_softmax(logits[t] / τ)[x_{t+1}] for t = 0 … L−2 (§0), always in float32. The same
 * function serves the policy (with gradient) and the reference (called under a no-grad guard).
 */
public final class TokenLogProbs {
  private TokenLogProbs() {}

  /** {@link #of(Tensor, Tensor, double)} at temperature 1. */
  public static Tensor of(Tensor logits, Tensor inputIds) {
    return of(logits, inputIds, 1.0);
  }

  /**
   * Log-probabilities of each next token.
   *
   * @param logits [B, L, V] any floating dtype; position t predicts token t + 1
   * @param inputIds [B, L] int64, the tokens that were fed in
   * @param temperature τ &gt; 0 the rollout sampled at; logits are divided by it first
   * @return [B, L−1] float32, entry t = log π(x_{t+1} | x_0..x_t)
   */
  public static Tensor of(Tensor logits, Tensor inputIds, double temperature) {
    if (!(temperature > 0)) {
      throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
    }
    if (logits.dim() != 3 || inputIds.dim() != 2 || logits.size(0) != inputIds.size(0)
        || logits.size(1) != inputIds.size(1)) {
      throw new IllegalArgumentException("logits must be [B, L, V] and inputIds [B, L], got "
          + java.util.Arrays.toString(Checks.shape(logits)) + " and "
          + java.util.Arrays.toString(Checks.shape(inputIds)));
    }
    long length = logits.size(1);
    if (length < 2) {
      throw new IllegalArgumentException("sequences need at least 2 tokens to score one, got L = " + length);
    }
    Tensor scaled = logits.narrow(1, 0, length - 1).to(ScalarType.Float); // [B, L−1, V]
    if (temperature != 1.0) {
      scaled = scaled.div(new Scalar(temperature));
    }
    Tensor logProbs = torch.log_softmax(scaled, -1); // [B, L−1, V]
    Tensor next = inputIds.narrow(1, 1, length - 1).to(ScalarType.Long).unsqueeze(-1); // [B, L−1, 1]
    return logProbs.gather(-1, next).squeeze(-1); // [B, L−1]
  }
}
