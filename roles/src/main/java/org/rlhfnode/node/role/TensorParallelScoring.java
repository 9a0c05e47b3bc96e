package org.rlhfnode.node.role;

import java.time.Duration;
import java.util.List;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.model.TensorParallel;
import org.rlhfnode.runtime.transport.RankGang;

/**
 * A scoring role (reference, reward) over a tensor-parallel group of N rank threads
 * ({@code --ref_num_gpus_per_node}, {@code --reward_num_gpus_per_node}): each rank builds its own
 * {@link ScoringRole.Scoring} over its slices of the models, every rank scores each request (the
 * sliced forward passes are collective) and rank 0's answer is returned.
 */
final class TensorParallelScoring implements ScoringRole.Scoring {
  /** Builds one rank's scoring over its slices. */
  @FunctionalInterface
  interface RankLoader {
    ScoringRole.Scoring load(TensorParallel tp);
  }

  private final RankGang gang;
  private final List<ScoringRole.Scoring> ranks;

  private TensorParallelScoring(RankGang gang, List<ScoringRole.Scoring> ranks) {
    this.gang = gang;
    this.ranks = ranks;
  }

  /** {@code ranks} CPU rank threads, each loading its scoring with {@code loader}. */
  static TensorParallelScoring load(int ranks, String name, RankLoader loader) {
    RankGang gang = RankGang.cpu(ranks, Duration.ofMinutes(30), name);
    try {
      return new TensorParallelScoring(gang, gang.openEach(c -> loader.load(TensorParallel.over(c))));
    } catch (RuntimeException e) {
      gang.close();
      throw e;
    }
  }

  @Override
  public TensorMap score(RolloutRows rows, List<String> labels) {
    return gang.first(c -> ranks.get(c.rank()).score(rows, labels));
  }

  @Override
  public void close() {
    try {
      gang.closeEach(ranks);
    } finally {
      gang.close();
    }
  }
}
