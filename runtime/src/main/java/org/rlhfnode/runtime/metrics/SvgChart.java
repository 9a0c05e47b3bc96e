package org.rlhfnode.runtime.metrics;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.LongStream;

/**
 * One metric against the step as a standalone inline SVG line chart: a framed plot area with grid lines at
 * round values ({@link NiceTicks}: about {@value #Y_TICKS} intervals on the value axis, {@value #X_TICKS} on the
 * step axis) and the series as one {@code <polyline class="series raw">} with a point per finite value (NaN
 * values are left out, so a diverged stretch shows as a straight segment across it). Optionally one smoothed
 * line per weight ({@code <polyline class="ema ema-K">}, K from 1), which the page's stylesheet shows or hides.
 * The output is well-formed XML, so the report stays parseable.
 */
final class SvgChart {
  static final int WIDTH = 640;
  static final int HEIGHT = 260;
  private static final int LEFT = 72;
  private static final int RIGHT = 16;
  private static final int TOP = 14;
  private static final int BOTTOM = 40;
  static final int Y_TICKS = 3;
  static final int X_TICKS = 6;
  /** Half-height of the y range around a constant zero series. */
  private static final double FLAT_RANGE_PAD = 0.5;
  /** Half-height of the y range around a constant non-zero series, relative to its value. */
  private static final double FLAT_RANGE_FRACTION = 0.1;
  /** Space above and below a series, relative to its range, so the line does not run along the frame. */
  private static final double Y_MARGIN = 0.04;
  /** Tick labels between these magnitudes are written plainly, others in scientific notation. */
  private static final double PLAIN_MIN = 1e-3;
  private static final double PLAIN_MAX = 1e7;
  private static final MathContext SIGNIFICANT = new MathContext(4, RoundingMode.HALF_EVEN);

  private SvgChart() {}

  /** A step and the metric's value at it. */
  record Point(long step, double value) {}

  /** The chart of {@code points} (ordered by step) titled {@code name}, drawn in {@code color}, unsmoothed. */
  static String render(String name, List<Point> points, String color) {
    List<Point> finite = new ArrayList<>();
    points.stream().filter(p -> Double.isFinite(p.value())).forEach(finite::add);
    return render(new Series(name, finite.stream().mapToLong(Point::step).toArray(),
        finite.stream().mapToDouble(Point::value).toArray()), color, new double[0]);
  }

  /** The chart of {@code s} in {@code color}, with a smoothed line for each of {@code smoothing}'s weights. */
  static String render(Series s, String color, double[] smoothing) {
    double[] steps = LongStream.of(s.steps()).asDoubleStream().toArray();
    Range xs = Range.of(steps, 0);
    Range ys = Range.of(s.values(), Y_MARGIN);
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%d\""
        + " height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">%n", WIDTH, HEIGHT, WIDTH, HEIGHT,
        Html.escape(s.name())));
    b.append("<title>").append(Html.escape(s.name())).append(" vs step</title>\n");
    b.append(String.format(Locale.ROOT, "<rect class=\"plot\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>%n",
        LEFT, TOP, plotWidth(), plotHeight()));
    grid(b, xs, ys, s.empty());
    b.append(String.format(Locale.ROOT, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>%n",
        LEFT + plotWidth() / 2, HEIGHT - 6));
    polyline(b, "series raw", color, xs, ys, s.steps(), s.values());
    for (int k = 0; k < smoothing.length; k++) {
      polyline(b, "ema ema-" + (k + 1), color, xs, ys, s.steps(), Series.smoothed(s.values(), smoothing[k]));
    }
    if (s.size() == 1) {
      b.append(String.format(Locale.ROOT, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>%n",
          x(xs, s.steps()[0]), y(ys, s.values()[0]), color));
    }
    return b.append("</svg>\n").toString();
  }

  private static void polyline(StringBuilder b, String cssClass, String color, Range xs, Range ys, long[] steps,
      double[] values) {
    b.append("<polyline class=\"").append(cssClass).append("\" fill=\"none\" stroke=\"").append(color)
        .append("\" points=\"");
    for (int i = 0; i < values.length; i++) {
      b.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.2f,%.2f", x(xs, steps[i]), y(ys, values[i])));
    }
    b.append("\"/>\n");
  }

  private static void grid(StringBuilder b, Range xs, Range ys, boolean empty) {
    if (empty) {
      b.append(String.format(Locale.ROOT, "<text class=\"empty\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
          + "no finite values</text>%n", LEFT + plotWidth() / 2, TOP + plotHeight() / 2));
      return;
    }
    for (double yv : NiceTicks.of(ys.lo(), ys.hi(), Y_TICKS)) {
      double py = y(ys, yv);
      b.append(String.format(Locale.ROOT, "<line class=\"grid\" x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\"/>"
          + "<text class=\"tick\" x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%s</text>%n",
          LEFT, py, LEFT + plotWidth(), py, LEFT - 6, py + 4, Html.escape(number(yv))));
    }
    for (double xv : NiceTicks.of(xs.lo(), xs.hi(), X_TICKS)) {
      if (xv != Math.rint(xv)) {
        continue; // steps are whole numbers
      }
      double px = x(xs, xv);
      b.append(String.format(Locale.ROOT, "<line class=\"grid\" x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\"/>"
          + "<text class=\"tick\" x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%d</text>%n",
          px, TOP, px, TOP + plotHeight(), px, TOP + plotHeight() + 16, (long) xv));
    }
  }

  /**
   * Four significant digits without trailing zeros, plain between {@link #PLAIN_MIN} and {@link #PLAIN_MAX},
   * else scientific ({@code 1.235e+07}, {@code 5e-04}).
   */
  static String number(double v) {
    if (v == 0) {
      return "0";
    }
    double a = Math.abs(v);
    if (!Double.isFinite(v) || a < PLAIN_MIN || a >= PLAIN_MAX) {
      return String.format(Locale.ROOT, "%.3e", v).replaceFirst("\\.?0+e", "e"); // 5.000e-04 → 5e-04
    }
    return new BigDecimal(v).round(SIGNIFICANT).stripTrailingZeros().toPlainString();
  }

  private static int plotWidth() {
    return WIDTH - LEFT - RIGHT;
  }

  private static int plotHeight() {
    return HEIGHT - TOP - BOTTOM;
  }

  private static double x(Range xs, double step) {
    return LEFT + (step - xs.lo()) / (xs.hi() - xs.lo()) * plotWidth();
  }

  private static double y(Range ys, double v) {
    return TOP + (1 - (v - ys.lo()) / (ys.hi() - ys.lo())) * plotHeight();
  }

  /** An axis range, widened when flat so that the scale never divides by zero. */
  private record Range(double lo, double hi) {
    /** The span of {@code values}, widened on each side by {@code margin} times the span. */
    static Range of(double[] values, double margin) {
      double lo = Double.POSITIVE_INFINITY;
      double hi = Double.NEGATIVE_INFINITY;
      for (double v : values) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      if (values.length == 0) {
        return new Range(0, 1);
      }
      if (hi - lo <= Math.ulp(Math.max(Math.abs(lo), Math.abs(hi))) * 4) {
        double pad = lo == 0 ? FLAT_RANGE_PAD : Math.abs(lo) * FLAT_RANGE_FRACTION;
        return new Range(lo - pad, hi + pad);
      }
      double pad = (hi - lo) * margin;
      return new Range(lo - pad, hi + pad);
    }
  }
}
