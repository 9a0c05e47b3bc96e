package org.rlhfnode.runtime.algo;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Direct preference losses of algorithms.md §5 over pairs (y_c, y_r) with
 * h = [S_θ(y_c) − S_θ(y_r)] − [S_ref(y_c) − S_ref(y_r)]: DPO ℓ = −log σ(βh); cDPO
 * ℓ = −(1−ε) log σ(βh) − ε log σ(−βh); IPO ℓ = (h − 1/(2β))²; averaged over pairs, plus the optional
 * NLL term c_nll · mean over chosen of (−mean_t lp_θ). log σ(z) is computed as −softplus(−z).
 * Reference scores are cut from the graph: they never receive gradients.
 */
public final class PreferenceLoss {
  private PreferenceLoss() {}

  /**
   * Loss settings.
   *
   * @param beta β &gt; 0 (IPO reads it as its τ)
   * @param labelSmoothing cDPO ε in [0, 0.5); 0 is plain DPO
   * @param ipo use the IPO loss instead of (c)DPO
   * @param ipoLengthAveraged IPO on per-token mean scores (TRL) instead of sums (OpenRLHF)
   * @param nllCoef c_nll ≥ 0 of the NLL term on chosen responses; 0 turns it off
   */
  public record Options(double beta, double labelSmoothing, boolean ipo, boolean ipoLengthAveraged, double nllCoef) {
    public Options {
      if (!(beta > 0) || Double.isInfinite(beta)) {
        throw new IllegalArgumentException("beta must be finite and > 0, got " + beta);
      }
      if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
        throw new IllegalArgumentException("labelSmoothing must be in [0, 0.5), got " + labelSmoothing);
      }
      if (ipo && labelSmoothing != 0) {
        throw new IllegalArgumentException("labelSmoothing applies to DPO only; it must be 0 with ipo");
      }
      if (ipoLengthAveraged && !ipo) {
        throw new IllegalArgumentException("ipoLengthAveraged requires ipo");
      }
      if (!(nllCoef >= 0) || Double.isInfinite(nllCoef)) {
        throw new IllegalArgumentException("nllCoef must be finite and ≥ 0, got " + nllCoef);
      }
    }

    /** Plain DPO. */
    public static Options dpo(double beta) {
      return new Options(beta, 0, false, false, 0);
    }

    /** cDPO with label smoothing ε. */
    public static Options cdpo(double beta, double labelSmoothing) {
      return new Options(beta, labelSmoothing, false, false, 0);
    }

    /** IPO on summed scores, as OpenRLHF. */
    public static Options ipo(double beta) {
      return new Options(beta, 0, true, false, 0);
    }

    /** The same settings with an NLL term of weight {@code coef}. */
    public Options withNll(double coef) {
      return new Options(beta, labelSmoothing, ipo, ipoLengthAveraged, coef);
    }
  }

  /**
   * The loss of a batch of pairs and the metrics to log; rewards are the implicit rewards
   * β(S_θ − S_ref) on summed scores.
   *
   * @param loss [] scalar with the graph of the policy scores
   * @param value the loss as a number (preference term plus weighted NLL)
   * @param preferenceLoss the DPO/cDPO/IPO term alone
   * @param nll mean over chosen responses of −mean_t lp_θ (logged even when c_nll = 0)
   * @param chosenReward mean implicit reward of the chosen responses
   * @param rejectedReward mean implicit reward of the rejected responses
   * @param accuracy share of pairs whose chosen reward is strictly above the rejected one
   * @param margin mean of chosen minus rejected reward
   */
  public record Result(Tensor loss, double value, double preferenceLoss, double nll, double chosenReward,
      double rejectedReward, double accuracy, double margin) {}

  /**
   * Computes the loss.
   *
   * @param chosen policy scores of the chosen responses, [P] sums with lengths
   * @param rejected policy scores of the rejected responses, [P]
   * @param refChosen [P] S_ref(y_c), summed like {@code chosen} (may be precomputed)
   * @param refRejected [P] S_ref(y_r)
   */
  public static Result compute(Options o, SequenceScores chosen, SequenceScores rejected, Tensor refChosen,
      Tensor refRejected) {
    Checks.sameVectors("chosen, rejected, refChosen, refRejected", chosen.sums(), rejected.sums(), refChosen,
        refRejected);
    Tensor refC = refChosen.detach().to(ScalarType.Float); // [P]
    Tensor refR = refRejected.detach().to(ScalarType.Float); // [P]
    Tensor h = logRatioDifference(o, chosen, rejected, refC, refR); // [P]
    Tensor preference = perPair(o, h).mean(); // []
    Tensor nll = chosen.means().neg().mean(); // []
    Tensor loss = o.nllCoef() == 0 ? preference : preference.add(nll.mul(new Scalar(o.nllCoef())));
    Tensor rewardC = chosen.sums().detach().sub(refC).mul(new Scalar(o.beta())); // [P]
    Tensor rewardR = rejected.sums().detach().sub(refR).mul(new Scalar(o.beta())); // [P]
    return new Result(loss, loss.item_double(), preference.item_double(), nll.item_double(), mean(rewardC),
        mean(rewardR), mean(rewardC.gt(rewardR)), mean(rewardC.sub(rewardR)));
  }

  /** h per pair, on sums or, for length-averaged IPO, on per-token means of policy and reference. */
  private static Tensor logRatioDifference(Options o, SequenceScores chosen, SequenceScores rejected, Tensor refC,
      Tensor refR) {
    if (o.ipoLengthAveraged()) {
      Tensor lenC = chosen.lengths().clamp_min(new Scalar(1.0)); // [P]
      Tensor lenR = rejected.lengths().clamp_min(new Scalar(1.0)); // [P]
      return chosen.means().sub(rejected.means()).sub(refC.div(lenC).sub(refR.div(lenR)));
    }
    return chosen.sums().sub(rejected.sums()).sub(refC.sub(refR));
  }

  /** ℓ per pair from h: [P] → [P]. */
  private static Tensor perPair(Options o, Tensor h) {
    if (o.ipo()) {
      return h.sub(new Scalar(1.0 / (2.0 * o.beta()))).pow(new Scalar(2.0));
    }
    Tensor z = h.mul(new Scalar(o.beta())); // [P] βh
    double eps = o.labelSmoothing();
    // −(1−ε) log σ(z) − ε log σ(−z) = (1−ε) softplus(−z) + ε softplus(z)
    return torch.softplus(z.neg()).mul(new Scalar(1.0 - eps)).add(torch.softplus(z).mul(new Scalar(eps)));
  }

  private static double mean(Tensor t) {
    return t.to(ScalarType.Double).mean().item_double();
  }
}
