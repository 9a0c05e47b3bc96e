package org.rlhfnode.runtime.metrics;

import java.math.BigDecimal;

/**
 * Round axis tick values: every multiple, inside a range, of a step that is 1, 2 or 5 × 10^k. The step is
 * the one nearest (on a log scale) to range / count: the raw step's power of ten times 10, 5, 2 or 1 as its
 * leading part is at least √50, √10, √2 or less (the rule of d3's {@code ticks}). So [0.7674, 1.036] with
 * about 3 ticks gives 0.8, 0.9, 1.0 and [1, 1200] with about 6 gives 200, 400, …, 1200. Values are exact
 * decimals (0.3, not 0.30000000000000004).
 */
final class NiceTicks {
  private static final double SQRT_50 = Math.sqrt(50);
  private static final double SQRT_10 = Math.sqrt(10);
  private static final double SQRT_2 = Math.sqrt(2);
  /** More ticks than this means a degenerate range; none are returned. */
  private static final int MAX_TICKS = 1000;

  private NiceTicks() {}

  /** The tick values in [lo, hi], ascending, for about {@code count} intervals; empty for an empty or invalid range. */
  static double[] of(double lo, double hi, int count) {
    if (!(hi >= lo) || !Double.isFinite(lo) || !Double.isFinite(hi) || count < 1) {
      return new double[0];
    }
    if (hi == lo) {
      return new double[] {lo};
    }
    double raw = (hi - lo) / count;
    int exponent = (int) Math.floor(Math.log10(raw));
    double lead = raw / Math.pow(10, exponent);
    int mantissa = lead >= SQRT_50 ? 10 : lead >= SQRT_10 ? 5 : lead >= SQRT_2 ? 2 : 1;
    BigDecimal step = BigDecimal.valueOf(mantissa).scaleByPowerOfTen(exponent);
    double stepValue = step.doubleValue();
    long first = (long) Math.ceil(lo / stepValue - 1e-9);
    long last = (long) Math.floor(hi / stepValue + 1e-9);
    if (last - first + 1 > MAX_TICKS || last < first) {
      return new double[0];
    }
    double[] ticks = new double[(int) (last - first + 1)];
    for (int i = 0; i < ticks.length; i++) {
      ticks[i] = step.multiply(BigDecimal.valueOf(first + i)).doubleValue();
    }
    return ticks;
  }
}
