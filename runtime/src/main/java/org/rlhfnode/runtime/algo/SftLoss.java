package org.rlhfnode.runtime.algo;

import org.bytedeco.pytorch.Tensor;

/**
 * Supervised fine-tuning and continued-pretraining loss, algorithms.md §3:
 * L_SFT = −Σ m·lp_θ / N with the SFT mask of §1.4, reduced in token mode (§2) so that gradient
 * accumulation divides by the token count of the whole optimizer step.
 */
public final class SftLoss {
  private SftLoss() {}

  /**
   * The loss of one micro-batch and what to log about it.
   *
   * @param loss [] scalar with the graph of the log-probs; backward() on it
   * @param value the loss as a number
   * @param tokens Σ m of this micro-batch
   */
  public record Result(Tensor loss, double value, double tokens) {}

  /** The loss when the optimizer step is this micro-batch alone (N = Σ m here). */
  public static Result compute(Tensor logProbs, Tensor mask) {
    double n = LossReduction.tokens(mask);
    return compute(logProbs, mask, Math.max(1.0, n));
  }

  /**
   * This micro-batch's share of the step loss: −Σ m·lp / N_step.
   *
   * @param logProbs [B, L−1] lp_θ from {@link TokenLogProbs}
   * @param mask [B, L−1] SFT mask, 1 on target tokens
   * @param tokensInStep N_step &gt; 0, target tokens over every micro-batch and rank of the step
   */
  public static Result compute(Tensor logProbs, Tensor mask, double tokensInStep) {
    Tensor loss = LossReduction.token(logProbs.neg(), mask, tokensInStep); // []
    return new Result(loss, loss.item_double(), LossReduction.tokens(mask));
  }
}
