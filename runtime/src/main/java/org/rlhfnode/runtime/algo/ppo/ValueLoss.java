package org.rlhfnode.runtime.algo.ppo;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.rlhfnode.runtime.algo.LossReduction;

/**
 * The critic loss of algorithms.md §8.3 per action token: with value clipping
 * V' = V_old + clip(V_φ − V_old, −ε_v, ε_v) and ℓ_t = ½ max((V' − R_t)², (V_φ − R_t)²); without it
 * ℓ_t = ½ (V_φ − R_t)². Token-mode reduction (§2) over the action mask. Only V_φ carries a gradient.
 */
public final class ValueLoss {
  private ValueLoss() {}

  /**
   * Loss settings.
   *
   * @param clipped whether value clipping is on
   * @param valueClip ε_v &gt; 0 (read only when clipped)
   */
  public record Options(boolean clipped, double valueClip) {
    /** Clipping on with ε_v = 0.5 (algorithms.md §12). */
    public static final Options DEFAULTS = new Options(true, 0.5);

    public Options {
      if (clipped && (!(valueClip > 0) || Double.isInfinite(valueClip))) {
        throw new IllegalArgumentException("valueClip must be finite and > 0 when clipping is on, got " + valueClip);
      }
    }

    /** Clipping on with ε_v. */
    public static Options clip(double valueClip) {
      return new Options(true, valueClip);
    }

    /** Clipping off: ½ MSE. */
    public static Options unclipped() {
      return new Options(false, 0.0);
    }
  }

  /**
   * The tensors of one micro-batch.
   *
   * @param values [B, T] V_φ with gradient
   * @param oldValues [B, T] V_old from the scoring pass
   * @param returns [B, T] R, the GAE targets
   * @param actionMask [B, T] a
   */
  public record Batch(Tensor values, Tensor oldValues, Tensor returns, Tensor actionMask) {
    public Batch {
      Shapes.same("values vs actionMask", values, actionMask);
      Shapes.same("oldValues vs actionMask", oldValues, actionMask);
      Shapes.same("returns vs actionMask", returns, actionMask);
    }
  }

  /**
   * The loss and its metrics.
   *
   * @param loss [] scalar with the graph of V_φ
   * @param value the loss as a number
   * @param perTokenLoss [B, T] ℓ_t, 0 outside the action mask
   * @param clipFraction share of action tokens where the clipped term is strictly the larger one (0 when off)
   */
  public record Result(Tensor loss, double value, Tensor perTokenLoss, double clipFraction) {}

  /** The loss with this micro-batch's own token count as denominator. */
  public static Result compute(Options o, Batch b) {
    return compute(o, b, Math.max(1.0, LossReduction.tokens(b.actionMask())));
  }

  /** The loss with N_step, the masked-token count of the whole optimizer step (§2). */
  public static Result compute(Options o, Batch b, double tokensInStep) {
    Tensor v = Shapes.fp32(b.values()); // [B, T]
    Tensor ret = RewardShaping.experience(b.returns()).to(v.scalar_type().intern()); // [B, T]
    Tensor plain = v.sub(ret).square(); // [B, T] (V_φ − R)²
    Tensor squared = plain; // [B, T] the larger squared error
    double clipFraction = 0.0;
    if (o.clipped()) {
      Tensor old = RewardShaping.experience(b.oldValues()).to(v.scalar_type().intern()); // [B, T]
      Tensor clippedValues = old.add(Shapes.clamp(v.sub(old), -o.valueClip(), o.valueClip())); // [B, T] V'
      Tensor clippedSquared = clippedValues.sub(ret).square(); // [B, T] (V' − R)²
      squared = torch.maximum(clippedSquared, plain);
      clipFraction = Shapes.maskedMean(clippedSquared.detach().gt(plain.detach()), b.actionMask());
    }
    Tensor perToken = Shapes.masked(squared.mul(new Scalar(0.5)), b.actionMask()); // [B, T]
    Tensor loss = LossReduction.token(perToken, b.actionMask(), tokensInStep);
    return new Result(loss, loss.item_double(), perToken, clipFraction);
  }
}
