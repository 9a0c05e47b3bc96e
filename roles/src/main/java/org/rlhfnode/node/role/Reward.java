package org.rlhfnode.node.role;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.Behavior;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.ScorerCommand;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.RejectionSampler;
import org.rlhfnode.runtime.algo.RewardScorer;
import org.rlhfnode.runtime.algo.ppo.RewardFunction;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.TensorParallel;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;

/**
 * The reward role: the sequence score s_i of every sample (algorithms.md §7.1) from one or more reward
 * models (score head at the last token, normalised with the RM's stored mean/std when
 * {@code normalize_reward}) and rule-based {@link RewardFunction}s on the decoded text, combined by
 * {@code reward_combine}: the sum, the mean, or the weighted sum with {@code reward_weights} (one weight
 * per source, reward models first).
 */
public final class Reward implements ScoringRole.Scoring {
  private final List<CausalLm> models;
  private final List<RewardScorer> scorers;
  private final List<RewardFunction> functions;
  private final HfTokenizer tokenizer;
  private final RejectionSampler.Combine combine;
  private final double[] weights;

  Reward(List<CausalLm> models, List<RewardScorer> scorers, List<RewardFunction> functions, HfTokenizer tokenizer,
      RejectionSampler.Combine combine, double[] weights) {
    int sources = scorers.size() + functions.size();
    if (combine == RejectionSampler.Combine.WEIGHTED && (weights == null || weights.length != sources)) {
      throw new IllegalArgumentException("--reward_weights needs one weight per reward source (" + sources + ")");
    }
    this.models = models;
    this.scorers = scorers;
    this.functions = functions;
    this.tokenizer = tokenizer;
    this.combine = combine;
    this.weights = weights;
  }

  /** The role, loading every reward model on its device group and instantiating every function. */
  public static Behavior<ScorerCommand> create(PpoSettings s) {
    int ranks = s.scale().rewardRanks();
    return ScoringRole.create(Role.REWARD, s.devices().reward().toString(), () -> ranks == 1 ? load(s)
        : TensorParallelScoring.load(ranks, "reward-tp", tp -> load(s, tp)));
  }

  static Reward load(PpoSettings s) {
    return load(s, null);
  }

  /** Loads the reward models whole ({@code tp} null) or as rank {@code tp.rank()}'s slices. */
  static Reward load(PpoSettings s, TensorParallel tp) {
    List<RewardFunction> functions = s.models().rewardFunctions().stream().map(RewardFunction::load).toList();
    List<CausalLm> models = new ArrayList<>();
    List<RewardScorer> scorers = new ArrayList<>();
    try {
      for (Path dir : s.models().rewardPretrain()) {
        CausalLm rm = ModelLoader.load(dir, s.devices().reward(), s.models().dtype(), tp);
        models.add(rm);
        int micro = s.experience().microRolloutBatchSize();
        scorers.add(s.models().normalizeReward() ? RewardScorer.forModelDir(rm, dir, micro) : new RewardScorer(rm, micro));
      }
      HfTokenizer tokenizer = functions.isEmpty() ? null : HfTokenizer.load(s.models().pretrain());
      return new Reward(models, scorers, functions, tokenizer, s.models().rewardCombine(), s.models().rewardWeights());
    } catch (RuntimeException e) {
      models.forEach(CausalLm::close);
      throw e;
    }
  }

  @Override
  public TensorMap score(RolloutRows rows) {
    int b = rows.batch();
    List<double[]> perSource = new ArrayList<>();
    List<long[]> sequences = new ArrayList<>(b);
    for (int i = 0; i < b; i++) {
      sequences.add(rows.sequence(i));
    }
    for (RewardScorer scorer : scorers) {
      perSource.add(scorer.score(sequences));
    }
    for (RewardFunction f : functions) {
      double[] out = new double[b];
      for (int i = 0; i < b; i++) {
        out[i] = f.score(tokenizer.decode(rows.prompt(i), false), tokenizer.decode(rows.response(i), true));
      }
      perSource.add(out);
    }
    return WireArrays.perSequence(TensorNames.SCORES, combine(perSource, b));
  }

  private double[] combine(List<double[]> perSource, int b) {
    double[] total = new double[b];
    for (int k = 0; k < perSource.size(); k++) {
      double w = combine == RejectionSampler.Combine.WEIGHTED ? weights[k]
          : combine == RejectionSampler.Combine.MEAN ? 1.0 / perSource.size() : 1.0;
      for (int i = 0; i < b; i++) {
        total[i] += w * perSource.get(k)[i];
      }
    }
    return total;
  }

  @Override
  public void close() {
    models.forEach(CausalLm::close);
    if (tokenizer != null) {
      tokenizer.close();
    }
  }
}
