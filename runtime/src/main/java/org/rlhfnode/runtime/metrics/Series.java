package org.rlhfnode.runtime.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.DoubleStream;

/**
 * One metric of {@code metrics.jsonl} against the step, its finite values only (NaN, i.e. {@code null} in
 * the file, and rows without the metric are left out), with what the report needs to decide how to show
 * it: empty, constant, a counter (whole numbers exactly linear in the step, like {@code iteration} or
 * {@code samples_total}), or noisy enough to deserve a smoothed line.
 *
 * @param name the metric
 * @param steps the steps of the finite values, in file order
 * @param values the finite values; same length as {@code steps}
 */
record Series(String name, long[] steps, double[] values) {
  /** Fewer points than this are never called noisy. */
  static final int NOISY_MIN_POINTS = 8;
  /** Mean |Δv| over the value range above which a series is noisy (pure noise is about 1/3). */
  static final double NOISY_ROUGHNESS = 0.05;
  /** A monotone series has roughness 1/(n−1); noisy needs this many times that as well. */
  private static final double MONOTONE_FACTOR = 3;
  /** Relative tolerance of the constant and counter tests. */
  private static final double EXACT = 1e-9;
  /** A counter needs at least this many points (any two points lie on a line). */
  private static final int COUNTER_MIN_POINTS = 3;

  /** The finite values of {@code name} in {@code rows}. */
  static Series of(List<MetricsRow> rows, String name) {
    List<Long> steps = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    for (MetricsRow r : rows) {
      double v = r.get(name);
      if (Double.isFinite(v)) {
        steps.add(r.step());
        values.add(v);
      }
    }
    return new Series(name, steps.stream().mapToLong(Long::longValue).toArray(),
        values.stream().mapToDouble(Double::doubleValue).toArray());
  }

  int size() {
    return values.length;
  }

  boolean empty() {
    return values.length == 0;
  }

  double first() {
    return values.length == 0 ? Double.NaN : values[0];
  }

  double last() {
    return values.length == 0 ? Double.NaN : values[values.length - 1];
  }

  long lastStep() {
    return steps.length == 0 ? -1 : steps[steps.length - 1];
  }

  double min() {
    double m = Double.NaN;
    for (double v : values) {
      m = Double.isNaN(m) ? v : Math.min(m, v);
    }
    return m;
  }

  double max() {
    double m = Double.NaN;
    for (double v : values) {
      m = Double.isNaN(m) ? v : Math.max(m, v);
    }
    return m;
  }

  /** Index of the largest value (the first, on ties), or -1 when empty. */
  int argMax() {
    int best = -1;
    for (int i = 0; i < values.length; i++) {
      if (best < 0 || values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }

  /** Mean of the first {@code k} values (all of them when there are fewer); NaN when empty. */
  double headMean(int k) {
    int n = Math.min(k, values.length);
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += values[i];
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  /** Whether {@code other} has the same points (a metric logged twice under two names). */
  boolean samePoints(Series other) {
    return java.util.Arrays.equals(steps, other.steps) && java.util.Arrays.equals(values, other.values);
  }

  /** Mean of the last {@code k} values (all of them when there are fewer); NaN when empty. */
  double tailMean(int k) {
    int n = Math.min(k, values.length);
    double sum = 0;
    for (int i = values.length - n; i < values.length; i++) {
      sum += values[i];
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  /** At least one value, all equal (to a relative 1e-9). */
  boolean constant() {
    return !empty() && max() - min() <= EXACT * Math.max(1, Math.abs(max()));
  }

  /**
   * At least three values, all whole numbers, not constant, lying exactly on a line in the step: a counter such
   * as {@code iteration}, {@code policy_version} or {@code samples_total}.
   */
  boolean counter() {
    int n = values.length;
    if (n < COUNTER_MIN_POINTS || constant() || steps[n - 1] == steps[0]
        || DoubleStream.of(values).anyMatch(v -> v != Math.rint(v))) {
      return false;
    }
    double slope = (values[n - 1] - values[0]) / (steps[n - 1] - steps[0]);
    double tolerance = EXACT * Math.max(1, Math.max(Math.abs(max()), Math.abs(min())));
    for (int i = 1; i < n - 1; i++) {
      if (Math.abs(values[0] + slope * (steps[i] - steps[0]) - values[i]) > tolerance) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether the line jumps about: at least {@value #NOISY_MIN_POINTS} points and a mean absolute step-to-step
   * change of at least {@value #NOISY_ROUGHNESS} of the value range and 3/(n−1) (so no monotone series counts).
   */
  boolean noisy() {
    int n = values.length;
    double range = max() - min();
    if (n < NOISY_MIN_POINTS || !(range > 0)) {
      return false;
    }
    double change = 0;
    for (int i = 1; i < n; i++) {
      change += Math.abs(values[i] - values[i - 1]);
    }
    double roughness = change / (n - 1) / range;
    return roughness >= Math.max(NOISY_ROUGHNESS, MONOTONE_FACTOR / (n - 1));
  }

  /**
   * TensorBoard's smoothing: an exponential moving average {@code m_i = w·m_{i−1} + (1−w)·v_i} from
   * {@code m_0 = 0}, debiased as {@code m_i / (1 − w^i)}, so the first value is kept and early points are
   * not pulled towards zero. {@code weight} in [0, 1); 0 returns the values.
   */
  static double[] smoothed(double[] values, double weight) {
    if (!(weight >= 0 && weight < 1)) {
      throw new IllegalArgumentException("smoothing weight " + weight + " is outside [0, 1)");
    }
    double[] out = new double[values.length];
    double m = 0;
    double debias = 1;
    for (int i = 0; i < values.length; i++) {
      m = weight * m + (1 - weight) * values[i];
      debias *= weight;
      out[i] = m / (1 - debias);
    }
    return out;
  }
}
