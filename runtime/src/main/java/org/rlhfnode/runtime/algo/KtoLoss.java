package org.rlhfnode.runtime.algo;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Kahneman–Tversky optimisation loss of algorithms.md §6. With u = S_θ(y|x) − S_ref(y|x) (sums) and
 * the anchor z = max(0, mean u over the mismatched pairs (x_i, y_{(i+1) mod b})), a constant:
 * desirable ℓ = λ_D (1 − σ(β(u − z))), undesirable ℓ = λ_U (1 − σ(β(z − u))); the loss is the mean
 * of ℓ over all b examples. The anchor's mean is taken across data-parallel ranks before the clamp,
 * so the rank-local mean is exposed separately ({@link #mismatchedMeanLogRatio}).
 */
public final class KtoLoss {
  private KtoLoss() {}

  /**
   * Loss settings; pick λ so that λ_D n_D / (λ_U n_U) is about 1 to 4/3.
   *
   * @param beta β &gt; 0
   * @param desirableWeight λ_D ≥ 0
   * @param undesirableWeight λ_U ≥ 0
   */
  public record Options(double beta, double desirableWeight, double undesirableWeight) {
    /** Defaults of algorithms.md §12: β = 0.1, λ_D = λ_U = 1. */
    public static final Options DEFAULTS = new Options(0.1, 1.0, 1.0);

    public Options {
      if (!(beta > 0) || Double.isInfinite(beta)) {
        throw new IllegalArgumentException("beta must be finite and > 0, got " + beta);
      }
      if (!(desirableWeight >= 0) || !(undesirableWeight >= 0)
          || Double.isInfinite(desirableWeight) || Double.isInfinite(undesirableWeight)) {
        throw new IllegalArgumentException("desirableWeight and undesirableWeight must be finite and ≥ 0, got "
            + desirableWeight + ", " + undesirableWeight);
      }
    }
  }

  /**
   * The loss and its metrics; rewards are β·u.
   *
   * @param loss [] scalar with the graph of the policy scores
   * @param value the loss as a number
   * @param anchor z, after the clamp at 0
   * @param chosenReward mean β·u over desirable examples (NaN if there are none)
   * @param rejectedReward mean β·u over undesirable examples (NaN if there are none)
   * @param desirable number of desirable examples
   * @param undesirable number of undesirable examples
   */
  public record Result(Tensor loss, double value, double anchor, double chosenReward, double rejectedReward,
      long desirable, long undesirable) {}

  /** Response index of the mismatched pair for each prompt i: (i + 1) mod b. */
  public static long[] mismatchedResponseIndex(int b) {
    long[] index = new long[b];
    for (int i = 0; i < b; i++) {
      index[i] = (i + 1) % b;
    }
    return index;
  }

  /**
   * Rank-local mean of u over the mismatched pairs, without gradient (average it across ranks, then
   * pass it to {@link #compute}).
   *
   * @param policyMismatched [b] S_θ of the mismatched pairs
   * @param refMismatched [b] S_ref of the mismatched pairs
   */
  public static double mismatchedMeanLogRatio(Tensor policyMismatched, Tensor refMismatched) {
    Checks.sameVectors("policyMismatched, refMismatched", policyMismatched, refMismatched);
    return policyMismatched.detach().to(ScalarType.Double).sub(refMismatched.detach().to(ScalarType.Double))
        .mean().item_double();
  }

  /** The anchor z = max(0, mean u) from the (rank-averaged) mismatched mean. */
  public static double anchor(double mismatchedMeanLogRatio) {
    return Math.max(0.0, mismatchedMeanLogRatio);
  }

  /** Single-rank form: the anchor comes from this batch's mismatched pairs. */
  public static Result compute(Options o, Tensor policy, Tensor reference, Tensor desirable,
      Tensor policyMismatched, Tensor refMismatched) {
    return compute(o, policy, reference, desirable, mismatchedMeanLogRatio(policyMismatched, refMismatched));
  }

  /**
   * Computes the loss.
   *
   * @param policy [b] S_θ(y|x), with gradient
   * @param reference [b] S_ref(y|x) (cut from the graph here)
   * @param desirable [b] bool (or 0/1), true for desirable examples
   * @param mismatchedMeanLogRatio mean u over the mismatched pairs, before the clamp
   */
  public static Result compute(Options o, Tensor policy, Tensor reference, Tensor desirable,
      double mismatchedMeanLogRatio) {
    Checks.sameVectors("policy, reference, desirable", policy, reference, desirable);
    double z = anchor(mismatchedMeanLogRatio);
    Tensor u = policy.sub(reference.detach().to(ScalarType.Float)); // [b] log-ratio
    Tensor x = u.sub(new Scalar(z)).mul(new Scalar(o.beta())); // [b] β(u − z)
    Tensor good = desirable.ne(new Scalar(0L)); // [b] bool
    Tensor lossGood = x.neg().sigmoid().mul(new Scalar(o.desirableWeight())); // [b] λ_D (1 − σ(x))
    Tensor lossBad = x.sigmoid().mul(new Scalar(o.undesirableWeight())); // [b] λ_U (1 − σ(−x))
    Tensor loss = torch.where(good, lossGood, lossBad).mean(); // []
    Tensor rewards = u.detach().mul(new Scalar(o.beta())).to(ScalarType.Double); // [b] β·u
    long nGood = good.sum().item_long();
    long nBad = good.numel() - nGood;
    return new Result(loss, loss.item_double(), z, meanWhere(rewards, good, nGood),
        meanWhere(rewards, good.logical_not(), nBad), nGood, nBad);
  }

  /** Mean of {@code values} where {@code select} holds; NaN when it holds nowhere. */
  private static double meanWhere(Tensor values, Tensor select, long count) {
    return count == 0 ? Double.NaN : values.mul(select.to(ScalarType.Double)).sum().item_double() / count;
  }
}
