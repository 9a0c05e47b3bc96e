package org.rlhfnode.runtime.algo;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Pairwise reward-model loss of algorithms.md §4: ℓ = −log σ(r_c − r_r − μ) per pair (μ the optional
 * per-pair margin), averaged over pairs, with −log σ(z) computed as softplus(−z). Also the "log-exp"
 * form log(1 + e^{r_r − r_c}) and the eval-set normalisation statistics stored in a saved RM.
 */
public final class RewardModelLoss {
  private RewardModelLoss() {}

  /** Which of the two equivalent pairwise forms to use. */
  public enum Kind {
    /** −log σ(r_c − r_r − μ); the default, the only one that takes a margin. */
    SIGMOID,
    /** log(1 + e^{r_r − r_c}); OpenRLHF's {@code LogExpLoss}, margin not allowed. */
    LOG_EXP
  }

  /**
   * The loss of a batch of pairs and its metrics.
   *
   * @param loss [] scalar with the graph of the scores
   * @param value the loss as a number
   * @param accuracy share of pairs with r_c &gt; r_r (strictly; the margin plays no part)
   * @param chosenReward mean r_c
   * @param rejectedReward mean r_r
   */
  public record Result(Tensor loss, double value, double accuracy, double chosenReward, double rejectedReward) {}

  /** The sigmoid form without margin. */
  public static Result compute(Tensor chosen, Tensor rejected) {
    return compute(Kind.SIGMOID, chosen, rejected, null);
  }

  /**
   * Pairwise loss.
   *
   * @param chosen [P] float32 r_c, score at the last non-pad position of the chosen sequence
   * @param rejected [P] float32 r_r
   * @param margin [P] μ per pair, or null for none (only with {@link Kind#SIGMOID})
   */
  public static Result compute(Kind kind, Tensor chosen, Tensor rejected, Tensor margin) {
    if (margin == null) {
      Checks.sameVectors("chosen, rejected", chosen, rejected);
    } else {
      Checks.sameVectors("chosen, rejected, margin", chosen, rejected, margin);
    }
    Tensor diff = chosen.sub(rejected); // [P] r_c − r_r
    Tensor perPair; // [P]
    if (kind == Kind.SIGMOID) {
      Tensor z = margin == null ? diff : diff.sub(margin.to(diff.scalar_type().intern()));
      perPair = torch.softplus(z.neg());
    } else {
      if (margin != null) {
        throw new IllegalArgumentException("the log-exp loss takes no margin; use Kind.SIGMOID");
      }
      perPair = torch.softplus(rejected.sub(chosen));
    }
    Tensor loss = perPair.mean();
    Tensor d = diff.detach();
    return new Result(loss, loss.item_double(), d.gt(new Scalar(0.0)).to(ScalarType.Double).mean().item_double(),
        chosen.detach().to(ScalarType.Double).mean().item_double(),
        rejected.detach().to(ScalarType.Double).mean().item_double());
  }

  /**
   * Reward normalisation statistics (§4): mean μ_R and sample standard deviation s_R (n − 1 in the
   * denominator, floored at 1e-8) of every chosen and rejected score of an eval pass. Stored in the
   * saved {@code config.json} as {@code mean} and {@code std}; applied only at inference.
   */
  public record Normalisation(double mean, double std) {
    /** The floor on s_R. */
    public static final double STD_FLOOR = 1e-8;

    public Normalisation {
      if (!Double.isFinite(mean) || !(std >= STD_FLOOR) || Double.isInfinite(std)) {
        throw new IllegalArgumentException("mean must be finite and std ≥ 1e-8, got " + mean + ", " + std);
      }
    }

    /** Statistics of at least two scores. */
    public static Normalisation of(double[] scores) {
      if (scores.length < 2) {
        throw new IllegalArgumentException("a sample std needs at least 2 scores, got " + scores.length);
      }
      double sum = 0;
      for (double s : scores) {
        sum += s;
      }
      double mean = sum / scores.length;
      double squares = 0;
      for (double s : scores) {
        squares += (s - mean) * (s - mean);
      }
      return new Normalisation(mean, Math.max(STD_FLOOR, Math.sqrt(squares / (scores.length - 1))));
    }

    /** (r − μ_R) / s_R. */
    public Tensor apply(Tensor rewards) {
      return rewards.sub(new Scalar(mean)).div(new Scalar(std));
    }
  }
}
