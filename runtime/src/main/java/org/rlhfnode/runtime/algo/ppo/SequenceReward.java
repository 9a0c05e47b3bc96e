package org.rlhfnode.runtime.algo.ppo;

import java.util.ArrayList;
import java.util.List;
import org.rlhfnode.runtime.algo.RewardScorer;

/**
 * The sequence score s_i of each sample (algorithms.md §7.3, before shaping): a reward model, a
 * rule-based function, or a combination of both. Called once per rollout with every sample.
 */
@FunctionalInterface
public interface SequenceReward {
  /**
   * @param prompts the prompt tokens of each sample
   * @param responses the generated tokens of each sample (stop token included)
   * @return one score per sample, in order
   */
  double[] score(List<long[]> prompts, List<long[]> responses);

  /** A reward model: {@link RewardScorer} at the last token of prompt + response. */
  static SequenceReward of(RewardScorer scorer) {
    return (prompts, responses) -> {
      List<long[]> sequences = new ArrayList<>(prompts.size());
      for (int i = 0; i < prompts.size(); i++) {
        long[] p = prompts.get(i);
        long[] r = responses.get(i);
        long[] s = java.util.Arrays.copyOf(p, p.length + r.length);
        System.arraycopy(r, 0, s, p.length, r.length);
        sequences.add(s);
      }
      return scorer.score(sequences);
    };
  }
}
