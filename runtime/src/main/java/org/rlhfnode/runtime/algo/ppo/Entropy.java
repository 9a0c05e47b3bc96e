package org.rlhfnode.runtime.algo.ppo;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.rlhfnode.runtime.algo.LossReduction;

/**
 * Per-token entropy of the policy from its logits, algorithms.md §8.4:
 * H_t = logsumexp(z_t) − Σ_v softmax(z_t)_v z_{t,v}, in float32, reduced over action tokens in token
 * mode. Pass the logits already divided by the sampling temperature (§0), as for the log-probs.
 * In the actor objective the term enters as −c_H·L_H; c_H unset means not computed, 0 means logged only.
 */
public final class Entropy {
  private Entropy() {}

  /**
   * H_t per position.
   *
   * @param logits [B, T, V] z_t (any float dtype; promoted to float32)
   * @return [B, T] entropy in nats, with the graph of the logits
   */
  public static Tensor perToken(Tensor logits) {
    if (logits.dim() != 3) {
      throw new IllegalArgumentException("logits must be [B, T, V], got " + java.util.Arrays.toString(Shapes.of(logits)));
    }
    Tensor z = Shapes.fp32(logits); // [B, T, V]
    Tensor logNormaliser = z.logsumexp(new long[] {2}, false); // [B, T]
    Tensor expected = torch.softmax(z, 2).mul(z).sum(2); // [B, T] Σ_v p_v z_v
    return logNormaliser.sub(expected);
  }

  /** Mean entropy over the action tokens of this micro-batch (token mode, own N). */
  public static Tensor mean(Tensor logits, Tensor actionMask) {
    return LossReduction.token(masked(logits, actionMask), actionMask);
  }

  /** Σ H·a / N_step (token mode with the step's masked-token count). */
  public static Tensor mean(Tensor logits, Tensor actionMask, double tokensInStep) {
    return LossReduction.token(masked(logits, actionMask), actionMask, tokensInStep);
  }

  private static Tensor masked(Tensor logits, Tensor actionMask) {
    Tensor h = perToken(logits); // [B, T]
    Shapes.same("entropy vs actionMask", h, actionMask);
    return Shapes.masked(h, actionMask);
  }
}
