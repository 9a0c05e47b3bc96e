package org.rlhfnode.runtime.algo.ppo;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The KL coefficient β of algorithms.md §9. Fixed (default): β = init_kl_coef for the whole run.
 * Adaptive (a target KL* is set): once per iteration, after training,
 * e = clip(KL_obs / KL* − 1, −0.2, 0.2) and β ← β·(1 + e·n_steps / H), with KL_obs the mean over the
 * rollout of per-sequence mean KL, n_steps the samples in the rollout and horizon H = 10000.
 *
 * <p>Mutable and not thread-safe: one instance lives in the trainer that owns the iteration loop. To
 * resume, create it again with the saved {@link #value()} as the initial coefficient.
 */
public final class KlController {
  /** Default horizon H. */
  public static final double DEFAULT_HORIZON = 10000.0;
  /** Bound of the proportional error e. */
  public static final double ERROR_CLIP = 0.2;

  private final double target;
  private final double horizon;
  private double coef;

  private KlController(double initKlCoef, double target, double horizon) {
    if (!(initKlCoef >= 0) || Double.isInfinite(initKlCoef)) {
      throw new IllegalArgumentException("init_kl_coef must be finite and ≥ 0, got " + initKlCoef);
    }
    this.coef = initKlCoef;
    this.target = target;
    this.horizon = horizon;
  }

  /** β = init_kl_coef for the whole run. */
  public static KlController fixed(double initKlCoef) {
    return new KlController(initKlCoef, Double.NaN, Double.NaN);
  }

  /** Adaptive controller with the default horizon H = 10000. */
  public static KlController adaptive(double initKlCoef, double targetKl) {
    return adaptive(initKlCoef, targetKl, DEFAULT_HORIZON);
  }

  /**
   * Adaptive controller.
   *
   * @param initKlCoef β at the start, ≥ 0
   * @param targetKl KL* &gt; 0 ({@code --kl_target})
   * @param horizon H &gt; 0
   */
  public static KlController adaptive(double initKlCoef, double targetKl, double horizon) {
    if (!(targetKl > 0) || Double.isInfinite(targetKl)) {
      throw new IllegalArgumentException("kl_target must be finite and > 0, got " + targetKl);
    }
    if (!(horizon > 0) || Double.isInfinite(horizon)) {
      throw new IllegalArgumentException("horizon must be finite and > 0, got " + horizon);
    }
    return new KlController(initKlCoef, targetKl, horizon);
  }

  /** The current β. */
  public double value() {
    return coef;
  }

  /** True for the adaptive controller. */
  public boolean isAdaptive() {
    return !Double.isNaN(target);
  }

  /** KL* (NaN for the fixed controller). */
  public double target() {
    return target;
  }

  /**
   * One update after an iteration; the fixed controller ignores it.
   *
   * @param observedKl KL_obs, the mean over the rollout of per-sequence mean KL
   * @param samples n_steps = rollout_batch_size × n_samples_per_prompt
   * @return the new β
   */
  public double update(double observedKl, long samples) {
    Shapes.finite("observedKl", observedKl);
    if (samples < 0) {
      throw new IllegalArgumentException("samples must be ≥ 0, got " + samples);
    }
    if (isAdaptive()) {
      double error = Math.max(-ERROR_CLIP, Math.min(ERROR_CLIP, observedKl / target - 1.0));
      coef = coef * (1.0 + error * samples / horizon);
    }
    return coef;
  }

  /**
   * Per-sequence mean KL over the action tokens.
   *
   * @param kl [B, T] per-token KL estimate (the one in the reward)
   * @param actionMask [B, T] a
   * @return [B] Σ_t k·a / Σ_t a (float64; 0 for a row without action tokens)
   */
  public static Tensor sequenceMeanKl(Tensor kl, Tensor actionMask) {
    Shapes.same("kl vs actionMask", kl, actionMask);
    return Shapes.rowMean(kl.detach().to(ScalarType.Double), actionMask);
  }

  /** KL_obs of a rollout held in one tensor: the mean of per-sequence mean KL over non-empty rows. */
  public static double observedKl(Tensor kl, Tensor actionMask) {
    Tensor perSequence = sequenceMeanKl(kl, actionMask); // [B]
    Tensor nonEmpty = Shapes.bools(actionMask).any(1); // [B]
    long n = nonEmpty.sum().item_long();
    return n == 0 ? 0.0 : perSequence.sum().item_double() / n;
  }
}
