package org.rlhfnode.runtime.generate;

/**
 * How one request is decoded. Greedy takes the arg-max; otherwise logits are divided by
 * {@code temperature}, cut to the {@code topK} largest (0 = off) and to the smallest nucleus of
 * probability ≥ {@code topP} (1 = off), then sampled from a generator seeded with {@code seed}.
 *
 * @param stopIds token ids that end the sequence (in addition to the model's EOS ids unless
 *     {@code ignoreEos}); the stop token is part of the output
 */
public record SamplingParams(
    int maxNewTokens, boolean greedy, double temperature, int topK, double topP, long seed,
    long[] stopIds, boolean ignoreEos) {

  public SamplingParams {
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("max_new_tokens must be >= 1, got " + maxNewTokens);
    }
    if (!greedy && !(temperature > 0)) {
      throw new IllegalArgumentException("temperature must be > 0 when sampling, got " + temperature);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must be >= 0 (0 = off), got " + topK);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
    }
    stopIds = stopIds == null ? new long[0] : stopIds.clone();
  }

  /** Greedy decoding of up to {@code maxNewTokens}, stopping at EOS. */
  public static SamplingParams greedy(int maxNewTokens) {
    return new SamplingParams(maxNewTokens, true, 1.0, 0, 1.0, 0, null, false);
  }

  /** Plain sampling at {@code temperature} with a seed, stopping at EOS. */
  public static SamplingParams sample(int maxNewTokens, double temperature, int topK, double topP, long seed) {
    return new SamplingParams(maxNewTokens, false, temperature, topK, topP, seed, null, false);
  }

  /** The same parameters with another {@code stopIds}/{@code ignoreEos}. */
  public SamplingParams withStops(long[] ids, boolean ignore) {
    return new SamplingParams(maxNewTokens, greedy, temperature, topK, topP, seed, ids, ignore);
  }

  /** The same parameters with another seed. */
  public SamplingParams withSeed(long newSeed) {
    return new SamplingParams(maxNewTokens, greedy, temperature, topK, topP, newSeed, stopIds, ignoreEos);
  }

  @Override
  public long[] stopIds() {
    return stopIds.clone();
  }
}
