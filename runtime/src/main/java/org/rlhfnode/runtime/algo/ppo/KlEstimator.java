package org.rlhfnode.runtime.algo.ppo;

import java.util.Locale;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * Per-token KL estimators of algorithms.md §7.2 on the log-ratio x = lp[t] − lp_ref[t]:
 * k1 = x, k2 = x²/2, k3 = e^{−x} − 1 + x, each result clamped to [−10, 10].
 *
 * <p>k1 is unbiased for KL(π‖ref) but can be negative (the default in the reward); k3 is unbiased and
 * never negative; k2 is never negative, biased and low-variance (k3 or k2 when KL is a loss, §8.4).
 * The estimators keep the autograd graph of their input, so the same code serves the no-gradient
 * reward (lp = lp_old) and the KL loss (lp = lp_θ). The clamp, as in libtorch, passes no gradient
 * where it is active. The names are those of OpenRLHF's {@code --kl_estimator}.
 */
public enum KlEstimator {
  K1("k1"),
  K2("k2"),
  K3("k3");

  /** Every estimate is clamped to [−CLAMP, CLAMP]. */
  public static final double CLAMP = 10.0;

  private final String optionName;

  KlEstimator(String optionName) {
    this.optionName = optionName;
  }

  /** The name used on the command line and in configs ({@code k1}, {@code k2}, {@code k3}). */
  public String optionName() {
    return optionName;
  }

  /** Parses {@code k1}, {@code k2} or {@code k3} (case-insensitive). */
  public static KlEstimator fromName(String name) {
    for (KlEstimator e : values()) {
      if (e.optionName.equals(name.trim().toLowerCase(Locale.ROOT))) {
        return e;
      }
    }
    throw new IllegalArgumentException("kl_estimator must be one of k1, k2, k3, got '" + name + "'");
  }

  /**
   * The estimate per token from the log-ratio.
   *
   * @param logRatio [B, T] (any shape) x = lp − lp_ref
   * @return the same shape, clamped to [−10, 10]
   */
  public Tensor fromLogRatio(Tensor logRatio) {
    Tensor x = Shapes.fp32(logRatio);
    Tensor k; // like x: the unclamped estimate
    switch (this) {
      case K1:
        k = x;
        break;
      case K2:
        k = x.square().mul(new Scalar(0.5));
        break;
      case K3:
        k = x.neg().exp().sub(new Scalar(1.0)).add(x);
        break;
      default:
        throw new AssertionError(this);
    }
    return Shapes.clamp(k, -CLAMP, CLAMP);
  }

  /**
   * The estimate per token between two log-prob tensors.
   *
   * @param logProbs [B, T] lp of the policy (lp_old for the reward, lp_θ for the KL loss)
   * @param refLogProbs [B, T] lp_ref, no gradient needed
   * @return [B, T] clamped estimate; entries outside the action mask are meaningless
   */
  public Tensor between(Tensor logProbs, Tensor refLogProbs) {
    Shapes.same("logProbs vs refLogProbs", logProbs, refLogProbs);
    return fromLogRatio(Shapes.fp32(logProbs).sub(Shapes.fp32(refLogProbs).detach()));
  }
}
