package org.rlhfnode.runtime.algo.ppo;

/**
 * DAPO's dynamic sampling filter (algorithms.md §10, OpenRLHF's {@code dynamic_filtering}): the n
 * samples of a prompt form a group, and a group is kept only when its mean score lies strictly inside
 * (lo, hi): lo &lt; (1/n) Σ_{k&lt;n} s_{g·n+k} &lt; hi. With 0/1 verifiable rewards and the default (0, 1),
 * this drops the groups that are all right or all wrong, whose group-normalised advantages are all 0.
 * The scores are the reward sources' scores before any shaping (a remote endpoint's {@code scores}
 * where it sends them). Filtered groups are replaced by groups of new prompts until the batch is full.
 *
 * @param low lo
 * @param high hi, &gt; lo
 */
public record DynamicFilter(double low, double high) {
  /** OpenRLHF's default range (0, 1). */
  public static final DynamicFilter DEFAULT = new DynamicFilter(0, 1);

  public DynamicFilter {
    Shapes.finite("low", low);
    Shapes.finite("high", high);
    if (!(low < high)) {
      throw new IllegalArgumentException("the range needs LOW < HIGH, got (" + low + ", " + high + ")");
    }
  }

  /**
   * Which groups pass.
   *
   * @param scores [G·n] the scores, groups of n consecutive samples
   * @param samplesPerPrompt n ≥ 1
   * @return [G] true for a group whose mean is strictly inside (lo, hi)
   */
  public boolean[] keep(double[] scores, int samplesPerPrompt) {
    if (samplesPerPrompt < 1 || scores.length % samplesPerPrompt != 0) {
      throw new IllegalArgumentException(scores.length + " scores do not form groups of " + samplesPerPrompt);
    }
    boolean[] keep = new boolean[scores.length / samplesPerPrompt];
    for (int g = 0; g < keep.length; g++) {
      double sum = 0;
      for (int k = 0; k < samplesPerPrompt; k++) {
        sum += scores[g * samplesPerPrompt + k];
      }
      double mean = sum / samplesPerPrompt;
      keep[g] = low < mean && mean < high;
    }
    return keep;
  }
}
