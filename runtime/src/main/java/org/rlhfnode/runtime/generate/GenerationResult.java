package org.rlhfnode.runtime.generate;

/**
 * The continuation of one request.
 *
 * @param newTokens generated ids, the stop token included when {@code finishReason} is STOP
 * @param logProbs log π(token) of each generated token under the model's distribution at the
 *     request's temperature (before top-k/top-p truncation; temperature 1 for greedy)
 */
public record GenerationResult(long[] newTokens, float[] logProbs, FinishReason finishReason) {
  public GenerationResult {
    newTokens = newTokens.clone();
    logProbs = logProbs.clone();
  }

  @Override
  public long[] newTokens() {
    return newTokens.clone();
  }

  @Override
  public float[] logProbs() {
    return logProbs.clone();
  }
}
