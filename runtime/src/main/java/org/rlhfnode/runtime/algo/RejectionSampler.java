package org.rlhfnode.runtime.algo;

import java.util.ArrayList;
import java.util.List;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;
import org.rlhfnode.runtime.generate.SamplingParams;

/**
 * Best-of-n rejection sampling (algorithms.md §11): for each prompt, n samples from the policy, each
 * scored by every reward model; the scores are combined (sum, mean or fixed weights) and the best
 * sample is kept. Sample j of prompt i uses seed {@code seed + i·n + j}, so a run is reproducible.
 */
public final class RejectionSampler {
  /** How several reward models' scores become one. */
  public enum Combine { SUM, MEAN, WEIGHTED }

  /** The kept sample of one prompt, and the mean combined reward of all its samples. */
  public record Best(int promptIndex, long[] responseIds, double reward, double meanReward) {}

  private final GenerationEngine policy;
  private final List<RewardScorer> rewardModels;
  private final Combine combine;
  private final double[] weights;
  private final int promptsPerBatch;

  public RejectionSampler(GenerationEngine policy, List<RewardScorer> rewardModels, Combine combine,
      double[] weights, int promptsPerBatch) {
    if (rewardModels.isEmpty()) {
      throw new IllegalArgumentException("rejection sampling needs at least one reward model");
    }
    if (combine == Combine.WEIGHTED && (weights == null || weights.length != rewardModels.size())) {
      throw new IllegalArgumentException("one weight per reward model is needed for weighted combination");
    }
    this.policy = policy;
    this.rewardModels = List.copyOf(rewardModels);
    this.combine = combine;
    this.weights = weights == null ? null : weights.clone();
    this.promptsPerBatch = Math.max(1, promptsPerBatch);
  }

  /** Generates {@code n} samples per prompt and keeps the best of each. */
  public List<Best> run(List<long[]> prompts, int n, SamplingParams params) {
    List<Best> out = new ArrayList<>();
    for (int start = 0; start < prompts.size(); start += promptsPerBatch) {
      int end = Math.min(prompts.size(), start + promptsPerBatch);
      List<GenerationRequest> requests = new ArrayList<>();
      for (int i = start; i < end; i++) {
        for (int j = 0; j < n; j++) {
          requests.add(new GenerationRequest(prompts.get(i), params.withSeed(params.seed() + (long) i * n + j)));
        }
      }
      List<GenerationResult> samples = policy.generate(requests);
      double[] rewards = combinedRewards(prompts, start, n, samples);
      for (int i = start; i < end; i++) {
        out.add(pick(i, n, (i - start) * n, samples, rewards));
      }
    }
    return out;
  }

  private double[] combinedRewards(List<long[]> prompts, int start, int n, List<GenerationResult> samples) {
    List<long[]> sequences = new ArrayList<>();
    for (int k = 0; k < samples.size(); k++) {
      long[] prompt = prompts.get(start + k / n);
      long[] response = samples.get(k).newTokens();
      long[] seq = java.util.Arrays.copyOf(prompt, prompt.length + response.length);
      System.arraycopy(response, 0, seq, prompt.length, response.length);
      sequences.add(seq);
    }
    double[] total = new double[samples.size()];
    for (int m = 0; m < rewardModels.size(); m++) {
      double[] r = rewardModels.get(m).score(sequences);
      double w = combine == Combine.WEIGHTED ? weights[m] : combine == Combine.MEAN ? 1.0 / rewardModels.size() : 1.0;
      for (int k = 0; k < r.length; k++) {
        total[k] += w * r[k];
      }
    }
    return total;
  }

  private static Best pick(int prompt, int n, int offset, List<GenerationResult> samples, double[] rewards) {
    int best = offset;
    double sum = 0;
    for (int k = offset; k < offset + n; k++) {
      sum += rewards[k];
      if (rewards[k] > rewards[best]) {
        best = k;
      }
    }
    return new Best(prompt, samples.get(best).newTokens(), rewards[best], sum / n);
  }
}
