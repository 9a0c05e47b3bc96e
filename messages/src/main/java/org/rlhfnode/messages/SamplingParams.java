package org.rlhfnode.messages;

/**
 * How a rollout engine samples: temperature (0 = greedy), nucleus {@code topP} in (0, 1], {@code topK}
 * (0 = off), the generation budget per response, the number of samples per prompt (a group, in the
 * sense of algorithms.md §7) and the seed that makes a rollout reproducible.
 */
public record SamplingParams(double temperature, double topP, int topK, int maxNewTokens, int samplesPerPrompt,
    long seed) {

  /** Checks every field. */
  public SamplingParams {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("SamplingParams.temperature must be finite and >= 0, got " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("SamplingParams.topP must be in (0, 1], got " + topP);
    }
    Checks.nonNegative(topK, "SamplingParams", "topK");
    Checks.positive(maxNewTokens, "SamplingParams", "maxNewTokens");
    Checks.positive(samplesPerPrompt, "SamplingParams", "samplesPerPrompt");
  }
}
