package org.rlhfnode.node.role;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.Behavior;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.ScorerCommand;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.RejectionSampler;
import org.rlhfnode.runtime.algo.RewardScorer;
import org.rlhfnode.runtime.algo.ppo.RemoteReward;
import org.rlhfnode.runtime.algo.ppo.RewardFunction;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.TensorParallel;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;

/**
 * The reward role: the sequence score s_i of every sample (algorithms.md §7.1) from its sources, in this
 * order: reward models (score head at the last token, normalised with the RM's stored mean/std when
 * {@code normalize_reward}), rule-based {@link RewardFunction}s on the decoded text and the prompt's label,
 * and the HTTP endpoints of {@code remote_rm_url} ({@link RemoteReward}: all endpoints together are one
 * source, each batch split over them). The sources are combined by {@code reward_combine}: the sum, the
 * mean, or the weighted sum Σ_k w_k s_i^(k) with {@code reward_weights} (one weight per source, in that
 * order). The same combination of each source's score for dynamic filtering (a remote endpoint's
 * {@code scores}, else its rewards) is sent as {@code filter_scores} when it differs, and the endpoint's
 * {@code extra_logs} as per-sample tensors. Everything runs on the role's own thread; the remote call
 * waits there, never on an actor's.
 */
public final class Reward implements ScoringRole.Scoring {
  private final List<CausalLm> models;
  private final List<RewardScorer> scorers;
  private final List<RewardFunction> functions;
  private final RemoteReward remote;
  private final boolean remoteSource;
  private final HfTokenizer tokenizer;
  private final RejectionSampler.Combine combine;
  private final double[] weights;

  /**
   * @param remote the endpoints this instance calls, or null
   * @param remoteSource whether the run has a remote source; true with a null {@code remote} on a
   *     tensor-parallel rank other than 0, whose answer is not used (so the endpoints are called once)
   */
  Reward(List<CausalLm> models, List<RewardScorer> scorers, List<RewardFunction> functions, RemoteReward remote,
      boolean remoteSource, HfTokenizer tokenizer, RejectionSampler.Combine combine, double[] weights) {
    int sources = scorers.size() + functions.size() + (remoteSource ? 1 : 0);
    if (combine == RejectionSampler.Combine.WEIGHTED && (weights == null || weights.length != sources)) {
      throw new IllegalArgumentException("--reward_weights needs one weight per reward source (" + sources
          + ": reward models, then reward functions, then remote_rm_url)");
    }
    this.models = models;
    this.scorers = scorers;
    this.functions = functions;
    this.remote = remote;
    this.remoteSource = remoteSource;
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
    RemoteReward.Options remoteOptions = s.models().remoteReward();
    boolean callsRemote = remoteOptions != null && (tp == null || tp.rank() == 0);
    List<CausalLm> models = new ArrayList<>();
    List<RewardScorer> scorers = new ArrayList<>();
    try {
      for (Path dir : s.models().rewardPretrain()) {
        CausalLm rm = ModelLoader.load(dir, s.devices().reward(), s.models().dtype(), tp);
        models.add(rm);
        rm.setPacking(s.scale().packingSamples());
        int micro = s.experience().microRolloutBatchSize();
        scorers.add(s.models().normalizeReward() ? RewardScorer.forModelDir(rm, dir, micro) : new RewardScorer(rm, micro));
      }
      HfTokenizer tokenizer = functions.isEmpty() && !callsRemote ? null : HfTokenizer.load(s.models().pretrain());
      return new Reward(models, scorers, functions, callsRemote ? new RemoteReward(remoteOptions) : null,
          remoteOptions != null, tokenizer, s.models().rewardCombine(), s.models().rewardWeights());
    } catch (RuntimeException e) {
      models.forEach(CausalLm::close);
      throw e;
    }
  }

  @Override
  public TensorMap score(RolloutRows rows, List<String> labels) {
    int b = rows.batch();
    List<String> label = labels.isEmpty() ? Collections.nCopies(b, "") : labels;
    List<double[]> rewards = new ArrayList<>();
    List<double[]> filterScores = new ArrayList<>();
    List<long[]> sequences = new ArrayList<>(b);
    for (int i = 0; i < b; i++) {
      sequences.add(rows.sequence(i));
    }
    for (RewardScorer scorer : scorers) {
      rewards.add(scorer.score(sequences));
    }
    for (RewardFunction f : functions) {
      double[] out = new double[b];
      for (int i = 0; i < b; i++) {
        out[i] = f.score(tokenizer.decode(rows.prompt(i), false), tokenizer.decode(rows.response(i), true),
            label.get(i));
      }
      rewards.add(out);
    }
    filterScores.addAll(rewards);
    Map<String, double[]> extraLogs = Map.of();
    if (remoteSource) {
      RemoteReward.Result r = remote == null ? new RemoteReward.Result(new double[b], new double[b], Map.of())
          : remote(rows, sequences, label);
      rewards.add(r.rewards());
      filterScores.add(r.scores());
      extraLogs = r.extraLogs();
    }
    double[] total = combine(rewards, b);
    TensorMap out = WireArrays.perSequence(TensorNames.SCORES, total);
    double[] filter = combine(filterScores, b);
    if (!java.util.Arrays.equals(filter, total)) {
      out = out.with(TensorNames.FILTER_SCORES, WireArrays.sequenceValues(filter));
    }
    for (Map.Entry<String, double[]> e : extraLogs.entrySet()) {
      out = out.with(TensorNames.EXTRA_LOG_PREFIX + e.getKey(), WireArrays.sequenceValues(e.getValue()));
    }
    return out;
  }

  /** OpenRLHF's request: full texts and prompt texts with special tokens kept, as its experience maker decodes. */
  private RemoteReward.Result remote(RolloutRows rows, List<long[]> sequences, List<String> labels) {
    List<String> queries = new ArrayList<>(sequences.size());
    List<String> prompts = new ArrayList<>(sequences.size());
    for (int i = 0; i < sequences.size(); i++) {
      queries.add(tokenizer.decode(sequences.get(i), false));
      prompts.add(tokenizer.decode(rows.prompt(i), false));
    }
    return remote.score(queries, prompts, labels);
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
