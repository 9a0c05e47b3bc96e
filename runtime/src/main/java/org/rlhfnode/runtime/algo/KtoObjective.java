package org.rlhfnode.runtime.algo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.data.Collator.KtoBatch;
import org.rlhfnode.runtime.train.Objective;

/**
 * KTO (algorithms.md §6): log-ratios u = S_θ − S_ref of each example, the KL anchor from the
 * mismatched pairs (no gradient), desirable and undesirable losses weighted by λ_D, λ_U.
 */
public final class KtoObjective implements Objective<KtoBatch> {
  private final CausalLm policy;
  private final CausalLm reference;
  private final KtoLoss.Options options;

  public KtoObjective(CausalLm policy, CausalLm reference, KtoLoss.Options options) {
    this.policy = policy;
    this.reference = reference;
    this.options = options;
  }

  @Override
  public double stepDenominator(List<KtoBatch> microBatches) {
    return microBatches.stream().mapToInt(KtoBatch::examples).sum();
  }

  @Override
  public MicroResult forward(KtoBatch batch, double examplesInStep) {
    int b = batch.examples();
    // rows 0..b−1: the examples (with gradient); rows b..2b−1: mismatched pairs for the anchor (none)
    Tensor policyAll = DpoObjective.sequenceScores(policy, batch.batch()).sums(); // [2b]
    Tensor refAll = DpoObjective.referenceSums(reference, batch.batch()); // [2b]
    float[] labels = new float[b];
    for (int i = 0; i < b; i++) {
      labels[i] = batch.desirable()[i] ? 1f : 0f;
    }
    Tensor desirable = Tensors.floats(labels, b).to(policyAll.device(), ScalarType.Float);
    KtoLoss.Result r = KtoLoss.compute(options, policyAll.narrow(0, 0, b), refAll.narrow(0, 0, b), desirable,
        policyAll.narrow(0, b, b).detach(), refAll.narrow(0, b, b));
    double share = b / examplesInStep;
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("kl_anchor", r.anchor());
    metrics.put("chosen_reward", r.chosenReward());
    metrics.put("rejected_reward", r.rejectedReward());
    return new MicroResult(r.loss().mul(new Scalar(share)), r.value() * share, batch.batch().targetTokens(), metrics);
  }

  @Override
  public List<String> metricNames() {
    return List.of("kl_anchor", "chosen_reward", "rejected_reward");
  }
}
