package org.rlhfnode.runtime.algo;

import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.train.Objective;
import org.rlhfnode.runtime.train.TokenBatch;

/**
 * Supervised fine-tuning (and continued pretraining, conditional SFT): token-mode NLL of the target
 * tokens over the whole optimizer step, L = −Σ m·lp / N_step (algorithms.md §2, §3).
 */
public final class SftObjective implements Objective<TokenBatch> {
  private final CausalLm model;

  public SftObjective(CausalLm model) {
    this.model = model;
  }

  @Override
  public double stepDenominator(List<TokenBatch> microBatches) {
    long n = 0;
    for (TokenBatch b : microBatches) {
      n += b.lossTokens();
    }
    return Math.max(1, n);
  }

  @Override
  public MicroResult forward(TokenBatch batch, double tokensInStep) {
    Tensor ids = batch.idsTensor(model.device()); // [B, L]
    Tensor logits = model.forward(ids, batch.attentionTensor(model.device())); // [B, L, V]
    Tensor logProbs = TokenLogProbs.of(logits, ids); // [B, L-1]
    SftLoss.Result r = SftLoss.compute(logProbs, batch.lossMaskTensor(model.device()), tokensInStep);
    return new MicroResult(r.loss(), r.value(), batch.lossTokens(), Map.of());
  }

  /** Mean NLL per target token of a batch, without gradient bookkeeping by the caller. */
  public double evalLoss(TokenBatch batch) {
    return forward(batch, Math.max(1, batch.lossTokens())).value();
  }

  @Override
  public List<String> metricNames() {
    return List.of();
  }
}
