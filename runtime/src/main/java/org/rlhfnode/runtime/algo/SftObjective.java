package org.rlhfnode.runtime.algo;

import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.train.BatchTensors;
import org.rlhfnode.runtime.train.Objective;

/**
 * Supervised fine-tuning (and continued pretraining, conditional SFT): token-mode NLL of the target
 * tokens over the whole optimizer step, L = −Σ m·lp / N_step (algorithms.md §2, §3).
 */
public final class SftObjective implements Objective<Batch> {
  private final CausalLm model;

  public SftObjective(CausalLm model) {
    this.model = model;
  }

  @Override
  public double stepDenominator(List<Batch> microBatches) {
    long n = 0;
    for (Batch b : microBatches) {
      n += b.targetTokens();
    }
    return Math.max(1, n);
  }

  @Override
  public MicroResult forward(Batch batch, double tokensInStep) {
    Tensor ids = BatchTensors.ids(batch, model.device()); // [B, L]
    Tensor logits = model.forward(ids, BatchTensors.attention(batch, model.device())); // [B, L, V]
    Tensor logProbs = TokenLogProbs.of(logits, ids); // [B, L-1]
    SftLoss.Result r = SftLoss.compute(logProbs, BatchTensors.lossMask(batch, model.device()), tokensInStep);
    return new MicroResult(r.loss(), r.value(), batch.targetTokens(), Map.of());
  }

  /** Mean NLL per target token of a batch, without gradient bookkeeping by the caller. */
  public double evalLoss(Batch batch) {
    return forward(batch, Math.max(1, batch.targetTokens())).value();
  }

  @Override
  public List<String> metricNames() {
    return List.of();
  }
}
