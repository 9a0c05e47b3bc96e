package org.rlhfnode.runtime.metrics;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The end-of-run summary printed after training and shown at the top of the report: how far the run
 * got, how long it took, the final and best loss and the mean throughput. Values that were never
 * logged are NaN (or -1 for a step).
 *
 * @param lastStep the last logged step (the run's global step)
 * @param loggedRows lines in {@code metrics.jsonl}
 * @param elapsed wall-clock time of this process's run
 * @param finalLoss the loss of the last row that has a finite one
 * @param finalLossStep its step
 * @param bestLoss the smallest finite loss
 * @param bestLossStep its step (the first, on ties)
 * @param meanTokensPerS mean of the finite {@code tokens_per_s} values
 */
public record Summary(long lastStep, int loggedRows, Duration elapsed, double finalLoss, long finalLossStep,
    double bestLoss, long bestLossStep, double meanTokensPerS) {

  /** Summarises {@code rows} (file order) for a run that took {@code elapsed}. */
  public static Summary of(List<MetricsRow> rows, Duration elapsed) {
    double finalLoss = Double.NaN;
    long finalStep = -1;
    double best = Double.NaN;
    long bestStep = -1;
    double tokSum = 0;
    int tokCount = 0;
    long last = -1;
    for (MetricsRow r : rows) {
      last = r.step();
      double loss = r.get(MetricsWriter.LOSS);
      if (Double.isFinite(loss)) {
        finalLoss = loss;
        finalStep = r.step();
        if (!(loss >= best)) {
          best = loss;
          bestStep = r.step();
        }
      }
      double tok = r.get(MetricsWriter.TOKENS_PER_S);
      if (Double.isFinite(tok)) {
        tokSum += tok;
        tokCount++;
      }
    }
    return new Summary(last, rows.size(), elapsed, finalLoss, finalStep, best, bestStep,
        tokCount == 0 ? Double.NaN : tokSum / tokCount);
  }

  /** Label and value pairs, in display order, shared by the text and the HTML table. */
  List<String[]> entries() {
    return List.of(
        new String[] {"steps", lastStep < 0 ? "none" : lastStep + " (" + loggedRows + " logged)"},
        new String[] {"time", ProgressDisplay.clock(elapsed.toMillis() / 1000.0)},
        new String[] {"final loss", atStep(finalLoss, finalLossStep)},
        new String[] {"best loss", atStep(bestLoss, bestLossStep)},
        new String[] {"tokens/s", Double.isNaN(meanTokensPerS) ? "n/a"
            : String.format(Locale.ROOT, "%.1f (mean)", meanTokensPerS)});
  }

  private static String atStep(double v, long step) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.4f (step %d)", v, step);
  }

  /** A few aligned lines for the terminal. */
  public String format() {
    StringBuilder b = new StringBuilder("run summary");
    for (String[] e : entries()) {
      b.append(System.lineSeparator()).append(String.format(Locale.ROOT, "  %-11s %s", e[0], e[1]));
    }
    return b.toString();
  }
}
