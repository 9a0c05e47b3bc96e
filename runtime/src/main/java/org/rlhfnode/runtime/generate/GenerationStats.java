package org.rlhfnode.runtime.generate;

/**
 * Wall-clock accounting of generation calls: the prefill (prompt pass plus the first sampled token)
 * and the decode steps that follow, with the tokens each processed. Not thread-safe; one per caller.
 */
public final class GenerationStats {
  private long prefillNanos;
  private long prefillTokens;
  private long decodeNanos;
  private long decodeTokens;
  private long decodeSteps;

  void record(boolean prefill, long tokens, long nanos) {
    if (prefill) {
      prefillNanos += nanos;
      prefillTokens += tokens;
    } else {
      decodeNanos += nanos;
      decodeTokens += tokens;
      decodeSteps++;
    }
  }

  /** Prompt tokens computed in prefill (padding included; a prompt shared by several requests once). */
  public long prefillTokens() {
    return prefillTokens;
  }

  /** Prompt tokens (padding included; a shared prompt once) computed per second in prefill. */
  public double prefillTokensPerSecond() {
    return prefillNanos == 0 ? 0 : prefillTokens * 1e9 / prefillNanos;
  }

  /** Generated tokens per second over the decode steps (all rows together). */
  public double decodeTokensPerSecond() {
    return decodeNanos == 0 ? 0 : decodeTokens * 1e9 / decodeNanos;
  }

  public double decodeSeconds() {
    return decodeNanos / 1e9;
  }

  public long decodeSteps() {
    return decodeSteps;
  }
}
