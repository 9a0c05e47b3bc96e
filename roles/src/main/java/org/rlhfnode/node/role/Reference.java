package org.rlhfnode.node.role;

import org.apache.pekko.actor.typed.Behavior;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.ScorerCommand;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.algo.ppo.ScoringPass;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.TensorParallel;

/**
 * The reference role: the frozen initial policy's per-token log-probs lp_ref at the rollout
 * temperature (algorithms.md §7.1), for the KL penalty or the KL loss.
 */
public final class Reference implements ScoringRole.Scoring {
  private final CausalLm model;
  private final double temperature;
  private final int microBatch;

  Reference(CausalLm model, double temperature, int microBatch) {
    this.model = model;
    this.temperature = temperature;
    this.microBatch = microBatch;
  }

  /** The role, loading {@code ref_pretrain} on its device group (tensor-parallel over its ranks when several). */
  public static Behavior<ScorerCommand> create(PpoSettings s) {
    int ranks = s.scale().referenceRanks();
    return ScoringRole.create(Role.REFERENCE, s.devices().reference().toString(), () -> ranks == 1 ? load(s, null)
        : TensorParallelScoring.load(ranks, "reference-tp", tp -> load(s, tp)));
  }

  private static Reference load(PpoSettings s, TensorParallel tp) {
    CausalLm model = ModelLoader.load(s.models().refPretrain(), s.devices().reference(), s.models().dtype(), tp);
    model.setPacking(s.scale().packingSamples());
    return new Reference(model, s.experience().temperature(), s.experience().microRolloutBatchSize());
  }

  @Override
  public TensorMap score(RolloutRows rows, java.util.List<String> labels) {
    model.checkTokenIds(rows.ids(), "sequence");
    float[] lp = ScoringPass.logProbs(model, rows, temperature, microBatch); // [B, T] lp_ref
    return WireArrays.perToken(TensorNames.REF_LOG_PROBS, rows, lp);
  }

  @Override
  public void close() {
    model.close();
  }
}
