package org.rlhfnode.runtime.algo.ppo;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reward shaping of algorithms.md §7.3, in this order: (1) optional length penalties on the sequence
 * score s_i, overlong e = min(len_i − (G − b), b), s_i ← s_i − f·e/b when e &gt; 0, and truncation
 * (s_i ← c·s_i for 0 ≤ c ≤ 1, s_i ← c for c &lt; 0, on truncated samples); (2) the group baseline of
 * §7.5 ({@link Advantages#groupScalars}); (3) the clip s_i ← clip(s_i, lo, hi); (4) per-token rewards
 * r[t] = −β·k[t]·a[t] + 1[t = e_i]·s_i with e_i the last action index and β := 0 when KL is a loss.
 *
 * <p>Everything here is experience (no gradient): inputs are detached, results are float32 (or
 * float64 for float64 inputs). RM normalisation (§4) happens before step 1, in the reward role.
 */
public final class RewardShaping {
  private RewardShaping() {}

  /**
   * Shaping settings.
   *
   * @param generateMaxLen G, the generation budget in tokens (only read when overlong is on)
   * @param overlongBuffer b; 0 turns the overlong penalty off, otherwise 0 &lt; b ≤ G
   * @param overlongPenaltyFactor f ≥ 0 (1 by default)
   * @param truncationCoef c ≤ 1 for truncated samples; 1 leaves them unchanged (off)
   * @param clipLow lower end of the score clip (−10 by default)
   * @param clipHigh upper end of the score clip (10 by default), ≥ clipLow
   */
  public record Options(long generateMaxLen, long overlongBuffer, double overlongPenaltyFactor,
      double truncationCoef, double clipLow, double clipHigh) {
    /** No length penalties, clip range [−10, 10] (algorithms.md §12). */
    public static final Options DEFAULTS = new Options(0, 0, 1.0, 1.0, -10.0, 10.0);

    public Options {
      if (overlongBuffer < 0 || (overlongBuffer > 0 && generateMaxLen < overlongBuffer)) {
        throw new IllegalArgumentException("overlongBuffer must be 0 (off) or in (0, generateMaxLen], got "
            + overlongBuffer + " with generateMaxLen " + generateMaxLen);
      }
      if (!(overlongPenaltyFactor >= 0) || Double.isInfinite(overlongPenaltyFactor)) {
        throw new IllegalArgumentException("overlongPenaltyFactor must be finite and ≥ 0, got " + overlongPenaltyFactor);
      }
      if (!(truncationCoef <= 1) || Double.isInfinite(truncationCoef)) {
        throw new IllegalArgumentException("truncationCoef must be finite and ≤ 1, got " + truncationCoef);
      }
      Shapes.finite("clipLow", clipLow);
      Shapes.finite("clipHigh", clipHigh);
      if (clipLow > clipHigh) {
        throw new IllegalArgumentException("clipLow must be ≤ clipHigh, got [" + clipLow + ", " + clipHigh + "]");
      }
    }

    /** The same settings with the overlong penalty on: budget G, buffer b, factor f. */
    public Options withOverlong(long generateMaxLen, long overlongBuffer, double factor) {
      return new Options(generateMaxLen, overlongBuffer, factor, truncationCoef, clipLow, clipHigh);
    }

    /** The same settings with truncation coefficient c. */
    public Options withTruncationCoef(double c) {
      return new Options(generateMaxLen, overlongBuffer, overlongPenaltyFactor, c, clipLow, clipHigh);
    }

    /** The same settings with clip range [lo, hi]. */
    public Options withClip(double lo, double hi) {
      return new Options(generateMaxLen, overlongBuffer, overlongPenaltyFactor, truncationCoef, lo, hi);
    }
  }

  /**
   * Steps 1–3 on the sequence scores: length penalties, group baseline of the estimator, clip.
   *
   * @param scores [B] s_i after RM normalisation, groups of n consecutive samples
   * @param lengths [B] response length in tokens (see {@link #responseLengths})
   * @param truncated [B] bool or 0/1, true where the sample hit its budget without EOS
   * @return [B] the scalars that step 4 places at e_i
   */
  public static Tensor sequenceRewards(Options o, AdvantageEstimator estimator, int samplesPerPrompt,
      Tensor scores, Tensor lengths, Tensor truncated) {
    Tensor penalised = lengthPenalties(o, scores, lengths, truncated); // [B]
    return clip(o, Advantages.groupScalars(estimator, penalised, samplesPerPrompt));
  }

  /**
   * Step 1: the overlong and truncation penalties (each only when switched on in {@code o}).
   *
   * @param scores [B] s_i
   * @param lengths [B] len_i in tokens
   * @param truncated [B] bool or 0/1
   * @return [B] penalised scores
   */
  public static Tensor lengthPenalties(Options o, Tensor scores, Tensor lengths, Tensor truncated) {
    Tensor s = experience(scores); // [B]
    long b = s.size(0);
    Shapes.vector("scores", s, b);
    Shapes.vector("lengths", lengths, b);
    Shapes.vector("truncated", truncated, b);
    if (o.overlongBuffer() > 0) {
      double buffer = o.overlongBuffer();
      Tensor excess = lengths.to(s.scalar_type().intern()) // [B] e = min(len − (G − b), b)
          .sub(new Scalar((double) (o.generateMaxLen() - o.overlongBuffer())))
          .clamp_max(new Scalar(buffer));
      s = s.sub(excess.clamp_min(new Scalar(0.0)).mul(new Scalar(o.overlongPenaltyFactor() / buffer)));
    }
    if (o.truncationCoef() != 1.0) {
      Tensor cut = Shapes.bools(truncated); // [B]
      double c = o.truncationCoef();
      s = c >= 0 ? torch.where(cut, s.mul(new Scalar(c)), s) : torch.where(cut, new Scalar(c), s);
    }
    return s;
  }

  /** Step 3: s_i ← clip(s_i, lo, hi), [B] → [B]. */
  public static Tensor clip(Options o, Tensor scores) {
    return Shapes.clamp(experience(scores), o.clipLow(), o.clipHigh());
  }

  /**
   * Step 4: r[t] = −β·k[t]·a[t] + 1[t = e_i]·s_i.
   *
   * @param kl [B, T] k[t] from {@link KlEstimator} on lp_old − lp_ref; may be null when β = 0 or
   *     KL is a loss (the reference pass is skipped then)
   * @param actionMask [B, T] a[t]; every row needs at least one action token
   * @param scores [B] s_i after steps 1–3
   * @param klCoef β ≥ 0, the current KL coefficient
   * @param klAsLoss true in KL-as-loss mode (§8.4): β is then taken as 0 here
   * @return [B, T] per-token rewards, 0 outside the action mask
   */
  public static Tensor perTokenRewards(Tensor kl, Tensor actionMask, Tensor scores, double klCoef, boolean klAsLoss) {
    Shapes.matrix("actionMask", actionMask);
    Tensor s = experience(scores); // [B]
    Shapes.vector("scores", s, actionMask.size(0));
    if (!(klCoef >= 0) || Double.isInfinite(klCoef)) {
      throw new IllegalArgumentException("klCoef must be finite and ≥ 0, got " + klCoef);
    }
    Tensor last = lastActionMask(actionMask); // [B, T] 1[t = e_i]
    Tensor rewards = torch.where(last, s.unsqueeze(1), new Scalar(0.0)); // [B, T]
    double beta = klAsLoss ? 0.0 : klCoef;
    if (beta == 0.0) {
      return rewards;
    }
    if (kl == null) {
      throw new IllegalArgumentException("kl is required when the KL penalty is in the reward (klCoef > 0)");
    }
    Shapes.same("kl vs actionMask", kl, actionMask);
    Tensor penalty = Shapes.masked(experience(kl), actionMask).mul(new Scalar(-beta)); // [B, T] −β·k·a
    return rewards.add(penalty.to(rewards.scalar_type().intern()));
  }

  /**
   * The indicator of the last action token e_i = max{t : a[t] = 1} of each row.
   *
   * @param actionMask [B, T] a[t]
   * @return [B, T] bool, exactly one true entry per row
   * @throws IllegalArgumentException if a row has no action token (its reward would be lost)
   */
  public static Tensor lastActionMask(Tensor actionMask) {
    Shapes.matrix("actionMask", actionMask);
    Tensor a = Shapes.bools(actionMask); // [B, T]
    // Σ_{k≥t} a[k] is 1 exactly at e_i among the action tokens
    Tensor remaining = a.to(ScalarType.Long).flip(1).cumsum(1).flip(1); // [B, T]
    Tensor empty = a.any(1).logical_not(); // [B]
    if (empty.any().item_bool()) {
      throw new IllegalArgumentException("actionMask has a row without action tokens (row "
          + empty.to(ScalarType.Long).argmax().item_long() + "); its sequence reward has nowhere to go");
    }
    return a.logical_and(remaining.eq(new Scalar(1L)));
  }

  /** len_i = Σ_t a[t]: [B, T] → [B] (int64), the response length of single-turn samples. */
  public static Tensor responseLengths(Tensor actionMask) {
    Shapes.matrix("actionMask", actionMask);
    return Shapes.bools(actionMask).sum(1);
  }

  /** Detached, float32 or float64. */
  static Tensor experience(Tensor t) {
    return Shapes.fp32(t.detach());
  }
}
