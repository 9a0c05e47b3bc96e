package org.rlhfnode.runtime.algo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.data.Collator.PairBatch;
import org.rlhfnode.runtime.train.BatchTensors;
import org.rlhfnode.runtime.train.Objective;

/**
 * Reward-model training: the score head read at each sequence's last real token, pairwise loss
 * −log σ(r_c − r_r − μ) averaged over the pairs of the step (algorithms.md §4).
 */
public final class RewardObjective implements Objective<PairBatch> {
  private final CausalLm model;
  private final RewardModelLoss.Kind kind;
  private final boolean useMargin;

  /** @param useMargin subtract each pair's margin μ (OpenRLHF's {@code --margin_loss}) */
  public RewardObjective(CausalLm model, RewardModelLoss.Kind kind, boolean useMargin) {
    if (!model.hasScoreHead()) {
      throw new IllegalArgumentException("reward-model training needs a model with a score head");
    }
    this.model = model;
    this.kind = kind;
    this.useMargin = useMargin;
  }

  private static float[] toFloats(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }

  /** Scores r [2P] of a pair batch: the score head at each row's last real token. */
  public Tensor scores(PairBatch batch) {
    Tensor hidden = model.hidden(BatchTensors.ids(batch.batch(), model.device()),
        BatchTensors.attention(batch.batch(), model.device()), null); // [2P, L, d]
    Tensor perToken = model.scores(hidden); // [2P, L]
    return perToken.gather(1, BatchTensors.lastTokenIndex(batch.batch(), model.device())).squeeze(1); // [2P]
  }

  @Override
  public double stepDenominator(List<PairBatch> microBatches) {
    return microBatches.stream().mapToInt(PairBatch::pairs).sum();
  }

  @Override
  public MicroResult forward(PairBatch batch, double pairsInStep) {
    Tensor r = scores(batch);
    int p = batch.pairs();
    Tensor margin = useMargin ? Tensors.floats(toFloats(batch.margins()), p).to(r.device(), ScalarType.Float) : null;
    RewardModelLoss.Result res = RewardModelLoss.compute(kind, r.narrow(0, 0, p), r.narrow(0, p, p), margin);
    double share = p / pairsInStep;
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("reward_accuracy", res.accuracy());
    metrics.put("chosen_reward", res.chosenReward());
    metrics.put("rejected_reward", res.rejectedReward());
    return new MicroResult(res.loss().mul(new Scalar(share)), res.value() * share, batch.batch().targetTokens(), metrics);
  }

  @Override
  public List<String> metricNames() {
    return List.of("reward_accuracy", "chosen_reward", "rejected_reward");
  }
}
