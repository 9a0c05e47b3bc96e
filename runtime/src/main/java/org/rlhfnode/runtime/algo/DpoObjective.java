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
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.data.Collator.PairBatch;
import org.rlhfnode.runtime.train.BatchTensors;
import org.rlhfnode.runtime.train.Objective;

/**
 * DPO / cDPO / IPO against a frozen reference model (algorithms.md §5): sequence log-prob sums of
 * the responses under policy and reference, one forward each over the chosen and rejected rows
 * together, loss averaged over the pairs of the step. The reference sums come either from the
 * reference model, per batch, or precomputed with the batch ({@link ReferenceScores}).
 */
public final class DpoObjective implements Objective<DpoObjective.Pairs> {
  /** A pair batch and, when precomputed, its reference sums [2P] (else null). */
  public record Pairs(PairBatch batch, float[] referenceSums) {
    public int pairs() {
      return batch.pairs();
    }
  }

  private final CausalLm policy;
  private final CausalLm reference;
  private final PreferenceLoss.Options options;

  /** @param reference the frozen reference, or null when every batch carries precomputed sums */
  public DpoObjective(CausalLm policy, CausalLm reference, PreferenceLoss.Options options) {
    this.policy = policy;
    this.reference = reference;
    this.options = options;
  }

  /** Sums and lengths of the response log-probs of every row under {@code model}. */
  static SequenceScores sequenceScores(CausalLm model, Batch rows) {
    Tensor ids = BatchTensors.ids(rows, model.device()); // [R, L]
    Tensor logProbs = TokenLogProbs.of(model.forward(ids, BatchTensors.attention(rows, model.device())), ids); // [R, L-1]
    return SequenceScores.of(logProbs, BatchTensors.lossMask(rows, model.device()));
  }

  /** Reference sums without gradient. */
  static Tensor referenceSums(CausalLm reference, Batch rows) {
    try (NoGradGuard guard = new NoGradGuard()) {
      return sequenceScores(reference, rows).sums().detach();
    }
  }

  @Override
  public double stepDenominator(List<Pairs> microBatches) {
    return microBatches.stream().mapToInt(Pairs::pairs).sum();
  }

  @Override
  public MicroResult forward(Pairs pairs, double pairsInStep) {
    PairBatch batch = pairs.batch();
    int p = batch.pairs();
    SequenceScores all = sequenceScores(policy, batch.batch());
    Tensor ref = pairs.referenceSums() != null // [2P]
        ? Tensors.floats(pairs.referenceSums(), 2L * p).to(policy.device().torchDevice(), ScalarType.Float)
        : referenceSums(reference, batch.batch());
    PreferenceLoss.Result r = PreferenceLoss.compute(options, slice(all, 0, p), slice(all, p, p),
        ref.narrow(0, 0, p), ref.narrow(0, p, p));
    double share = p / pairsInStep;
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("reward_accuracy", r.accuracy());
    metrics.put("chosen_reward", r.chosenReward());
    metrics.put("rejected_reward", r.rejectedReward());
    metrics.put("reward_margin", r.margin());
    metrics.put("nll", r.nll());
    return new MicroResult(r.loss().mul(new Scalar(share)), r.value() * share, batch.batch().targetTokens(), metrics);
  }

  private static SequenceScores slice(SequenceScores s, long start, long n) {
    return new SequenceScores(s.sums().narrow(0, start, n), s.lengths().narrow(0, start, n));
  }

  @Override
  public List<String> metricNames() {
    return List.of("reward_accuracy", "chosen_reward", "rejected_reward", "reward_margin", "nll");
  }
}
