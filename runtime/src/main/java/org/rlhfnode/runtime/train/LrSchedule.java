package org.rlhfnode.runtime.train;

import java.util.Arrays;
import java.util.Locale;

/**
 * Learning-rate schedules with linear warm-up, as OpenRLHF builds them through transformers'
 * {@code get_scheduler}: warm-up steps W = ⌈total · lr_warmup_ratio⌉, and for step s (the number of
 * optimizer steps already taken, so the first update uses s = 0 and, with warm-up, lr = 0):
 * s &lt; W gives s / max(1, W); afterwards, with p = (s − W) / max(1, total − W), the factor is 1
 * (constant), max(0, (total − s) / max(1, total − W)) (linear), max(0, ½(1 + cos πp)) (cosine), or
 * max(0, ½(1 + cos πp)(1 − r) + r) with floor ratio r (cosine_with_min_lr, OpenRLHF's default with
 * r = 0.1; algorithms.md §12 "cosine with 10% floor, 3% warm-up"). lr(s) = peak · factor(s).
 *
 * <p>The schedule is a pure function of the step, so checkpoint state is the step count alone. Past
 * {@code totalSteps} the formulas run on unchanged, as transformers' do.
 *
 * @param kind which curve
 * @param peakLr the learning rate at the end of warm-up
 * @param totalSteps optimizer steps of the whole run
 * @param warmupSteps W
 * @param minLrRatio r, the floor as a fraction of the peak (used by {@link Kind#COSINE_WITH_MIN_LR} only)
 */
public record LrSchedule(Kind kind, double peakLr, long totalSteps, long warmupSteps, double minLrRatio) {
  /** OpenRLHF's floor for cosine_with_min_lr: {@code min_lr = learning_rate * 0.1}. */
  public static final double OPENRLHF_MIN_LR_RATIO = 0.1;

  /** The curves, by their {@code --lr_scheduler} names. */
  public enum Kind {
    CONSTANT_WITH_WARMUP("constant_with_warmup"),
    LINEAR("linear"),
    COSINE("cosine"),
    COSINE_WITH_MIN_LR("cosine_with_min_lr");

    private final String flagName;

    Kind(String flagName) {
      this.flagName = flagName;
    }

    /** The name used on the command line. */
    public String flagName() {
      return flagName;
    }

    /** The kind named {@code name} ({@code --lr_scheduler}); case-insensitive. */
    public static Kind parse(String name) {
      for (Kind k : values()) {
        if (k.flagName.equals(name.toLowerCase(Locale.ROOT))) {
          return k;
        }
      }
      throw new IllegalArgumentException("lr_scheduler '" + name + "' is not one of "
          + Arrays.stream(values()).map(Kind::flagName).toList());
    }
  }

  public LrSchedule {
    if (kind == null) {
      throw new IllegalArgumentException("kind must be given");
    }
    if (!(peakLr >= 0) || Double.isInfinite(peakLr)) {
      throw new IllegalArgumentException("peakLr must be finite and ≥ 0, got " + peakLr);
    }
    if (totalSteps < 0 || warmupSteps < 0) {
      throw new IllegalArgumentException("totalSteps and warmupSteps must be ≥ 0, got " + totalSteps + ", "
          + warmupSteps);
    }
    if (!(minLrRatio >= 0 && minLrRatio <= 1)) {
      throw new IllegalArgumentException("minLrRatio must be in [0, 1], got " + minLrRatio);
    }
  }

  /**
   * A schedule as OpenRLHF sets it up: W = ⌈totalSteps · warmupRatio⌉ and floor ratio 0.1.
   *
   * @param warmupRatio {@code lr_warmup_ratio} in [0, 1]
   */
  public static LrSchedule of(Kind kind, double peakLr, long totalSteps, double warmupRatio) {
    if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
      throw new IllegalArgumentException("lr_warmup_ratio must be in [0, 1], got " + warmupRatio);
    }
    long warmup = (long) Math.ceil(totalSteps * warmupRatio);
    return new LrSchedule(kind, peakLr, totalSteps, warmup, OPENRLHF_MIN_LR_RATIO);
  }

  /** The learning rate for the update made after {@code step} earlier updates. */
  public double lr(long step) {
    return peakLr * factor(step);
  }

  /** lr(step) / peakLr. */
  public double factor(long step) {
    if (step < 0) {
      throw new IllegalArgumentException("step must be ≥ 0, got " + step);
    }
    if (step < warmupSteps) {
      return (double) step / Math.max(1, warmupSteps);
    }
    double decaySteps = Math.max(1, totalSteps - warmupSteps);
    double progress = (step - warmupSteps) / decaySteps;
    double cosine = 0.5 * (1.0 + Math.cos(Math.PI * progress));
    switch (kind) {
      case CONSTANT_WITH_WARMUP:
        return 1.0;
      case LINEAR:
        return Math.max(0.0, (totalSteps - step) / decaySteps);
      case COSINE:
        return Math.max(0.0, cosine);
      case COSINE_WITH_MIN_LR:
        return Math.max(0.0, cosine * (1 - minLrRatio) + minLrRatio);
      default:
        throw new AssertionError(kind);
    }
  }
}
