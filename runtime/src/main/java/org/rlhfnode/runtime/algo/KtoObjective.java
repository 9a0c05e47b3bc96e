package org.rlhfnode.runtime.algo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;
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
    return microBatches.stream().mapToInt(b -> b.matched().rows()).sum();
  }

  @Override
  public MicroResult forward(KtoBatch batch, double examplesInStep) {
    int b = batch.matched().rows();
    Tensor policySums = DpoObjective.sequenceScores(policy, batch.matched()).sums(); // [b]
    Tensor refSums = DpoObjective.referenceSums(reference, batch.matched()); // [b]
    Tensor policyMismatched;
    try (NoGradGuard guard = new NoGradGuard()) {
      policyMismatched = DpoObjective.sequenceScores(policy, batch.mismatched()).sums().detach();
    }
    Tensor refMismatched = DpoObjective.referenceSums(reference, batch.mismatched());
    Tensor desirable = Tensors.floats(batch.desirable(), b).to(policySums.device(), ScalarType.Float);
    KtoLoss.Result r = KtoLoss.compute(options, policySums, refSums, desirable, policyMismatched, refMismatched);
    double share = b / examplesInStep;
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("kl_anchor", r.anchor());
    metrics.put("chosen_reward", r.chosenReward());
    metrics.put("rejected_reward", r.rejectedReward());
    return new MicroResult(r.loss().mul(new Scalar(share)), r.value() * share, batch.matched().lossTokens(), metrics);
  }

  @Override
  public List<String> metricNames() {
    return List.of("kl_anchor", "chosen_reward", "rejected_reward");
  }
}
