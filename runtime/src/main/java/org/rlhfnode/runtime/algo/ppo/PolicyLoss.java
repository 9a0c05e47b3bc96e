package org.rlhfnode.runtime.algo.ppo;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.rlhfnode.runtime.algo.LossReduction;

/**
 * The PPO clipped surrogate of algorithms.md §8.1 per action token:
 * ρ_t = exp(clamp(lp_θ − lp_old, −20, 20)), ℓ_t = −min(ρ_t A_t, clip(ρ_t, 1 − ε_lo, 1 + ε_hi) A_t),
 * with the optional dual clip c &gt; 1 for A_t &lt; 0: ℓ_t = −max(min(ρ_t A_t, clip(ρ_t) A_t), c A_t).
 * Token-mode reduction (§2). Options: GSPO (§8.2, one ratio per sequence
 * ρ_i = exp(clamp(mean_t(lp_θ − lp_old), −20, 20)) used for every token of i, with sequence-mode
 * reduction) and the rollout/trainer mismatch weights of §8.5 ({@link MismatchCorrection}), applied as
 * ℓ_t ← w_t ℓ_t before reduction.
 *
 * <p>GSPO with a mismatch correction on ({@link GspoCorrection}): by default as OpenRLHF
 * ({@code rollout_ratio}), the sequence ratio is taken against the rollout engine's log-probs,
 * ρ_i = exp(mean_t(lp_θ − lp_roll)), and no per-token weight is applied; {@code token_weights} keeps
 * algorithms.md §8.2 + §8.5: ρ_i against lp_old and ℓ_t ← w_t ℓ_t.
 *
 * <p>Metrics: clip fraction = share of action tokens where clip(ρ)·A is strictly below ρ·A, policy
 * KL = mean of (lp_old − lp_θ) over action tokens. Only lp_θ carries a gradient; lp_old, A and
 * lp_roll are cut from the graph.
 */
public final class PolicyLoss {
  /** Bound of the log-ratio before exp. */
  public static final double LOG_RATIO_CLAMP = 20.0;

  private PolicyLoss() {}

  /**
   * How GSPO combines with a rollout/trainer mismatch correction (§8.5); without one both are the same.
   * {@code rollout_ratio} (OpenRLHF): ρ_i = exp(mean_t(lp_θ − lp_roll)), no per-token weights.
   * {@code token_weights} (algorithms.md §8.2 with §8.5): ρ_i = exp(mean_t(lp_θ − lp_old)), ℓ_t ← w_t ℓ_t.
   */
  public enum GspoCorrection {
    ROLLOUT_RATIO("rollout_ratio"),
    TOKEN_WEIGHTS("token_weights");

    private final String optionName;

    GspoCorrection(String optionName) {
      this.optionName = optionName;
    }

    /** The name used in configs. */
    public String optionName() {
      return optionName;
    }

    /** Parses {@code rollout_ratio} or {@code token_weights}. */
    public static GspoCorrection fromName(String name) {
      for (GspoCorrection c : values()) {
        if (c.optionName.equals(name.trim().toLowerCase(java.util.Locale.ROOT))) {
          return c;
        }
      }
      throw new IllegalArgumentException("must be rollout_ratio or token_weights, got '" + name + "'");
    }
  }

  /**
   * Loss settings.
   *
   * @param epsLow ε_lo in [0, 1)
   * @param epsHigh ε_hi ≥ 0 (0.28 for DAPO clip-higher)
   * @param dualClip c &gt; 1, or 0 for off
   * @param gspo use the sequence ratio of GSPO and sequence-mode reduction
   * @param gspoCorrection what GSPO does when {@code mismatch} is not NONE
   * @param mismatch rollout/trainer correction; anything but NONE needs lp_roll
   * @param mismatchLow lo of the mismatch range, ≥ 0
   * @param mismatchHigh hi of the mismatch range, ≥ lo
   */
  public record Options(double epsLow, double epsHigh, double dualClip, boolean gspo, GspoCorrection gspoCorrection,
      MismatchCorrection mismatch, double mismatchLow, double mismatchHigh) {
    /** ε = 0.2, no dual clip, token-level PPO, no mismatch correction (algorithms.md §12). */
    public static final Options DEFAULTS = new Options(0.2, 0.2, 0.0, false, GspoCorrection.ROLLOUT_RATIO,
        MismatchCorrection.NONE, MismatchCorrection.DEFAULT_LOW, MismatchCorrection.DEFAULT_HIGH);

    public Options {
      if (!(epsLow >= 0 && epsLow < 1)) {
        throw new IllegalArgumentException("epsLow must be in [0, 1), got " + epsLow);
      }
      if (!(epsHigh >= 0) || Double.isInfinite(epsHigh)) {
        throw new IllegalArgumentException("epsHigh must be finite and ≥ 0, got " + epsHigh);
      }
      if (!(dualClip == 0 || dualClip > 1) || Double.isInfinite(dualClip)) {
        throw new IllegalArgumentException("dualClip must be 0 (off) or finite and > 1, got " + dualClip);
      }
      if (mismatch == null || gspoCorrection == null) {
        throw new IllegalArgumentException("mismatch and gspoCorrection must not be null (use NONE, ROLLOUT_RATIO)");
      }
      if (!(mismatchLow >= 0 && mismatchLow <= mismatchHigh) || Double.isInfinite(mismatchHigh)) {
        throw new IllegalArgumentException("mismatch range must satisfy 0 ≤ mismatchLow ≤ mismatchHigh < ∞, got ["
            + mismatchLow + ", " + mismatchHigh + "]");
      }
    }

    /** The same settings with clip range [1 − ε_lo, 1 + ε_hi]. */
    public Options withClip(double lo, double hi) {
      return new Options(lo, hi, dualClip, gspo, gspoCorrection, mismatch, mismatchLow, mismatchHigh);
    }

    /** The same settings with dual clip c (0 = off). */
    public Options withDualClip(double c) {
      return new Options(epsLow, epsHigh, c, gspo, gspoCorrection, mismatch, mismatchLow, mismatchHigh);
    }

    /** The same settings with GSPO on or off. */
    public Options withGspo(boolean on) {
      return new Options(epsLow, epsHigh, dualClip, on, gspoCorrection, mismatch, mismatchLow, mismatchHigh);
    }

    /** The same settings with GSPO's way of meeting a mismatch correction. */
    public Options withGspoCorrection(GspoCorrection c) {
      return new Options(epsLow, epsHigh, dualClip, gspo, c, mismatch, mismatchLow, mismatchHigh);
    }

    /** Whether GSPO takes its ratio against lp_roll instead of weighting tokens (OpenRLHF's way). */
    boolean gspoAgainstRollout() {
      return gspo && mismatch != MismatchCorrection.NONE && gspoCorrection == GspoCorrection.ROLLOUT_RATIO;
    }

    /** The same settings with mismatch correction {@code kind} over [lo, hi]. */
    public Options withMismatch(MismatchCorrection kind, double lo, double hi) {
      return new Options(epsLow, epsHigh, dualClip, gspo, gspoCorrection, kind, lo, hi);
    }
  }

  /**
   * The tensors of one micro-batch.
   *
   * @param logProbs [B, T] lp_θ with gradient
   * @param oldLogProbs [B, T] lp_old
   * @param advantages [B, T] A
   * @param actionMask [B, T] a
   * @param rolloutLogProbs [B, T] lp_roll, or null when no mismatch correction is used
   */
  public record Batch(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor actionMask,
      Tensor rolloutLogProbs) {
    public Batch {
      Shapes.same("logProbs vs actionMask", logProbs, actionMask);
      Shapes.same("oldLogProbs vs actionMask", oldLogProbs, actionMask);
      Shapes.same("advantages vs actionMask", advantages, actionMask);
      if (rolloutLogProbs != null) {
        Shapes.same("rolloutLogProbs vs actionMask", rolloutLogProbs, actionMask);
      }
    }

    /** A batch without rollout log-probs. */
    public static Batch of(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor actionMask) {
      return new Batch(logProbs, oldLogProbs, advantages, actionMask, null);
    }
  }

  /**
   * The loss and its metrics.
   *
   * @param loss [] scalar with the graph of lp_θ
   * @param value the loss as a number
   * @param perTokenLoss [B, T] w_t·ℓ_t, 0 outside the action mask (keeps the graph)
   * @param clipFraction share of action tokens where the clipped product is strictly below ρ·A
   * @param policyKl mean of (lp_old − lp_θ) over action tokens
   */
  public record Result(Tensor loss, double value, Tensor perTokenLoss, double clipFraction, double policyKl) {}

  /** The loss with this micro-batch's own denominator (N = Σa, or the non-empty sequences for GSPO). */
  public static Result compute(Options o, Batch b) {
    Tensor perToken = perTokenLoss(o, b); // [B, T]
    Tensor loss = o.gspo() ? LossReduction.sequence(perToken, b.actionMask())
        : LossReduction.token(perToken, b.actionMask());
    return result(loss, perToken, o, b);
  }

  /**
   * The loss with the denominator of the whole optimizer step (§2).
   *
   * @param stepDenominator N_step (masked tokens of the step) or, with GSPO, B_step (non-empty sequences)
   */
  public static Result compute(Options o, Batch b, double stepDenominator) {
    Tensor perToken = perTokenLoss(o, b); // [B, T]
    Tensor loss = o.gspo() ? LossReduction.sequence(perToken, b.actionMask(), stepDenominator)
        : LossReduction.token(perToken, b.actionMask(), stepDenominator);
    return result(loss, perToken, o, b);
  }

  /**
   * The importance ratio against lp_old: per token, or with GSPO one per sequence broadcast over its tokens.
   *
   * @return [B, T] ρ with the graph of lp_θ
   */
  public static Tensor ratio(Options o, Tensor logProbs, Tensor oldLogProbs, Tensor actionMask) {
    Tensor logRatio = Shapes.fp32(logProbs).sub(Shapes.fp32(oldLogProbs).detach()); // [B, T]
    if (o.gspo()) {
      logRatio = Shapes.rowMean(logRatio, actionMask).unsqueeze(1).expand_as(logRatio); // [B, T] per sequence
    }
    return Shapes.clamp(logRatio, -LOG_RATIO_CLAMP, LOG_RATIO_CLAMP).exp();
  }

  /**
   * The ratio the loss uses: {@link #ratio(Options, Tensor, Tensor, Tensor)} against lp_old, or with GSPO
   * and a mismatch correction in {@code rollout_ratio} mode the sequence ratio against lp_roll.
   *
   * @return [B, T] ρ with the graph of lp_θ
   */
  public static Tensor ratio(Options o, Batch b) {
    if (o.gspoAgainstRollout()) {
      requireRollout(o, b);
      return ratio(o, b.logProbs(), b.rolloutLogProbs(), b.actionMask());
    }
    return ratio(o, b.logProbs(), b.oldLogProbs(), b.actionMask());
  }

  /** [B, T] w_t·ℓ_t, 0 outside the action mask. */
  public static Tensor perTokenLoss(Options o, Batch b) {
    Tensor rho = ratio(o, b); // [B, T]
    Tensor adv = RewardShaping.experience(b.advantages()).to(rho.scalar_type().intern()); // [B, T]
    Tensor surrogate = rho.mul(adv); // [B, T] ρA
    Tensor clipped = clippedRatio(o, rho).mul(adv); // [B, T] clip(ρ)A
    Tensor objective = torch.minimum(surrogate, clipped); // [B, T]
    if (o.dualClip() > 0) {
      Tensor floor = torch.maximum(objective, adv.mul(new Scalar(o.dualClip()))); // [B, T]
      objective = torch.where(adv.lt(new Scalar(0.0)), floor, objective);
    }
    Tensor loss = objective.neg(); // [B, T] ℓ_t
    if (o.mismatch() != MismatchCorrection.NONE && !o.gspoAgainstRollout()) {
      requireRollout(o, b);
      loss = loss.mul(o.mismatch().weights(b.oldLogProbs(), b.rolloutLogProbs(), b.actionMask(),
          o.mismatchLow(), o.mismatchHigh()).to(loss.scalar_type().intern()));
    }
    return Shapes.masked(loss, b.actionMask());
  }

  private static void requireRollout(Options o, Batch b) {
    if (b.rolloutLogProbs() == null) {
      throw new IllegalArgumentException("mismatch correction " + o.mismatch().optionName()
          + " needs rolloutLogProbs (lp_roll from the rollout engine)");
    }
  }

  /** clip(ρ, 1 − ε_lo, 1 + ε_hi), [B, T] → [B, T]. */
  static Tensor clippedRatio(Options o, Tensor rho) {
    return Shapes.clamp(rho, 1.0 - o.epsLow(), 1.0 + o.epsHigh());
  }

  private static Result result(Tensor loss, Tensor perToken, Options o, Batch b) {
    Tensor rho = ratio(o, new Batch(b.logProbs().detach(), b.oldLogProbs(), b.advantages(), b.actionMask(),
        b.rolloutLogProbs())); // [B, T]
    Tensor adv = RewardShaping.experience(b.advantages()).to(rho.scalar_type().intern()); // [B, T]
    Tensor clippedBelow = clippedRatio(o, rho).mul(adv).lt(rho.mul(adv)); // [B, T] bool
    double clipFraction = Shapes.maskedMean(clippedBelow, b.actionMask());
    Tensor kl = Shapes.fp32(b.oldLogProbs()).detach().sub(Shapes.fp32(b.logProbs()).detach()); // [B, T]
    return new Result(loss, loss.item_double(), perToken, clipFraction, Shapes.maskedMean(kl, b.actionMask()));
  }
}
