package org.rlhfnode.runtime.algo.ppo;

import java.util.Locale;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Rollout/trainer mismatch correction of algorithms.md §8.5, the per-token weight w_t applied to the
 * policy loss as ℓ_t ← w_t·ℓ_t before reduction. With the raw ratio w_t = exp(lp_old − lp_roll)
 * (no gradient): TIS clips it to [lo, hi]; ICEPOP keeps w where lo ≤ w ≤ hi and sets 0 elsewhere;
 * sequence-masked TIS drops sequence i (w = 0 on all its tokens) when exp(mean_t(lp_old − lp_roll))
 * is outside [lo, hi] and otherwise keeps the raw w. Dropped tokens still count in the §2 denominator.
 */
public enum MismatchCorrection {
  NONE("none"),
  TIS("tis"),
  ICEPOP("icepop"),
  SEQUENCE_MASKED_TIS("seq_mask_tis");

  /** Default clip range [0.5, 5]. */
  public static final double DEFAULT_LOW = 0.5;
  public static final double DEFAULT_HIGH = 5.0;

  private final String optionName;

  MismatchCorrection(String optionName) {
    this.optionName = optionName;
  }

  /** The name used in configs. */
  public String optionName() {
    return optionName;
  }

  /** Parses a config name ({@code none}, {@code tis}, {@code icepop}, {@code seq_mask_tis}). */
  public static MismatchCorrection fromName(String name) {
    String key = name.trim().toLowerCase(Locale.ROOT);
    for (MismatchCorrection c : values()) {
      if (c.optionName.equals(key)) {
        return c;
      }
    }
    throw new IllegalArgumentException("mismatch correction must be none, tis, icepop or seq_mask_tis, got '"
        + name + "'");
  }

  /**
   * The weights w_t.
   *
   * @param oldLogProbs [B, T] lp_old from the trainer's scoring pass
   * @param rolloutLogProbs [B, T] lp_roll reported by the rollout engine
   * @param actionMask [B, T] a (the sequence mean of sequence-masked TIS runs over it)
   * @param low lo ≥ 0
   * @param high hi ≥ lo
   * @return [B, T] detached weights, all 1 for {@link #NONE}
   */
  public Tensor weights(Tensor oldLogProbs, Tensor rolloutLogProbs, Tensor actionMask, double low, double high) {
    Shapes.same("oldLogProbs vs rolloutLogProbs", oldLogProbs, rolloutLogProbs);
    Shapes.same("oldLogProbs vs actionMask", oldLogProbs, actionMask);
    Tensor logW = RewardShaping.experience(oldLogProbs).sub(RewardShaping.experience(rolloutLogProbs)); // [B, T]
    Tensor w = logW.exp(); // [B, T] raw w_t
    switch (this) {
      case NONE:
        return torch.ones_like(w);
      case TIS:
        return Shapes.clamp(w, low, high);
      case ICEPOP:
        return torch.where(inRange(w, low, high), w, new Scalar(0.0));
      case SEQUENCE_MASKED_TIS:
        Tensor sequenceW = Shapes.rowMean(logW, actionMask).exp(); // [B]
        return torch.where(inRange(sequenceW, low, high).unsqueeze(1), w, new Scalar(0.0));
      default:
        throw new AssertionError(this);
    }
  }

  private static Tensor inRange(Tensor w, double low, double high) {
    return w.ge(new Scalar(low)).logical_and(w.le(new Scalar(high)));
  }
}
