package org.rlhfnode.runtime.metrics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The end-of-run summary printed after training and shown at the top of the report. For a reinforcement
 * run (its rows have {@code reward_mean}: PPO and its relatives) it leads with what such a run is watched
 * for: the reward (the means of the first and last {@value #TAIL} iterations, and the last), the held-out eval
 * reward (first → last, best), KL, the policy and value losses, the response length, the mean phase times
 * and throughput; there is no "best loss", which means nothing for a policy-gradient loss. For the offline
 * trainers it gives the final and best loss, the final eval loss and the mean throughput. Values that were
 * never logged are NaN (or -1 for a step); rows for metrics that were never logged are left out.
 *
 * @param lastStep the last logged step (the run's global step)
 * @param loggedRows lines in {@code metrics.jsonl}
 * @param elapsed wall-clock time of this process's run
 * @param finalLoss the loss of the last row that has a finite one
 * @param finalLossStep its step
 * @param bestLoss the smallest finite loss
 * @param bestLossStep its step (the first, on ties)
 * @param meanTokensPerS mean of the finite {@code tokens_per_s} values
 * @param reinforcement whether the rows have a {@code reward_mean} (the run is PPO-like)
 * @param watched label and value of each headline entry, in display order; unmodifiable
 */
public record Summary(long lastStep, int loggedRows, Duration elapsed, double finalLoss, long finalLossStep,
    double bestLoss, long bestLossStep, double meanTokensPerS, boolean reinforcement, List<Entry> watched) {
  /** Iterations the "recent" means cover. */
  static final int TAIL = 10;
  /** The phase times of a PPO iteration, in pipeline order, and their labels. */
  private static final List<String[]> PHASES = List.of(new String[] {"time_generate", "generate"},
      new String[] {"time_score", "score"}, new String[] {"time_train", "train"}, new String[] {"time_sync", "sync"});

  /** One line of the summary. */
  public record Entry(String label, String value) {}

  public Summary {
    watched = List.copyOf(watched);
  }

  /** Summarises {@code rows} (file order) for a run that took {@code elapsed}. */
  public static Summary of(List<MetricsRow> rows, Duration elapsed) {
    Series loss = Series.of(rows, MetricsWriter.LOSS);
    int best = -1;
    for (int i = 0; i < loss.size(); i++) {
      best = best < 0 || loss.values()[i] < loss.values()[best] ? i : best;
    }
    Series tokens = Series.of(rows, MetricsWriter.TOKENS_PER_S);
    double meanTokens = tokens.tailMean(tokens.size());
    boolean rl = rows.stream().anyMatch(r -> r.values().containsKey("reward_mean"));
    List<Entry> watched = rl ? reinforcement(rows) : offline(rows, loss, best);
    watched.add(new Entry("tokens/s", Double.isNaN(meanTokens) ? "n/a" : String.format(Locale.ROOT, "%.1f (mean)",
        meanTokens)));
    return new Summary(rows.isEmpty() ? -1 : rows.get(rows.size() - 1).step(), rows.size(), elapsed, loss.last(),
        loss.lastStep(), best < 0 ? Double.NaN : loss.values()[best], best < 0 ? -1 : loss.steps()[best], meanTokens,
        rl, watched);
  }

  private static List<Entry> offline(List<MetricsRow> rows, Series loss, int best) {
    List<Entry> out = new ArrayList<>();
    out.add(new Entry("final loss", loss.empty() ? "n/a" : atStep(loss.last(), loss.lastStep())));
    out.add(new Entry("best loss", best < 0 ? "n/a" : atStep(loss.values()[best], loss.steps()[best])));
    Series eval = Series.of(rows, "eval_loss");
    if (!eval.empty()) {
      out.add(new Entry("eval loss", atStep(eval.last(), eval.lastStep())));
    }
    return out;
  }

  private static List<Entry> reinforcement(List<MetricsRow> rows) {
    List<Entry> out = new ArrayList<>();
    Series reward = Series.of(rows, "reward_mean");
    out.add(new Entry("reward", reward.empty() ? "n/a" : trend(reward, "")));
    Series eval = Series.of(rows, "eval_reward_mean");
    int top = eval.argMax();
    out.add(new Entry("eval reward", eval.empty() ? "n/a (no evaluation ran: --eval_prompt_data)"
        : fromTo(eval) + ", best " + atStep(eval.values()[top], eval.steps()[top])));
    for (String[] m : new String[][] {{"kl", "KL"}, {"policy_loss", "policy loss"}, {"value_loss", "value loss"}}) {
      Series s = Series.of(rows, m[0]);
      if (!s.empty()) {
        out.add(new Entry(m[1], "last " + SvgChart.number(s.last()) + tail(s)));
      }
    }
    Series length = Series.of(rows, "response_length");
    if (!length.empty()) {
      out.add(new Entry("length", trend(length, " tokens")));
    }
    List<String> phases = new ArrayList<>();
    for (String[] p : PHASES) {
      Series s = Series.of(rows, p[0]);
      if (!s.empty()) {
        phases.add(p[1] + " " + String.format(Locale.ROOT, "%.2f s", s.tailMean(s.size())));
      }
    }
    if (!phases.isEmpty()) {
      out.add(new Entry("phase times", String.join(", ", phases) + " (mean per iteration)"));
    }
    return out;
  }

  private static String fromTo(Series s) {
    return SvgChart.number(s.first()) + " → " + SvgChart.number(s.last());
  }

  /**
   * A noisy series' drift: the means of its first and last {@value #TAIL} values (one noisy point each
   * would mislead), and its last value; {@code unit} follows the means.
   */
  private static String trend(Series s, String unit) {
    if (s.size() <= TAIL) {
      return fromTo(s) + unit;
    }
    return SvgChart.number(s.headMean(TAIL)) + " → " + SvgChart.number(s.tailMean(TAIL)) + unit + String.format(
        Locale.ROOT, " (means of the first and last %d; last %s)", TAIL, SvgChart.number(s.last()));
  }

  private static String tail(Series s) {
    return s.size() <= 1 ? "" : String.format(Locale.ROOT, " (mean of the last %d: %s)", Math.min(TAIL, s.size()),
        SvgChart.number(s.tailMean(TAIL)));
  }

  /** Label and value pairs, in display order, shared by the text and the HTML table. */
  List<Entry> entries() {
    List<Entry> out = new ArrayList<>();
    out.add(new Entry("steps", lastStep < 0 ? "none" : lastStep + " (" + loggedRows + " logged)"));
    out.add(new Entry("time", ProgressDisplay.clock(elapsed.toMillis() / 1000.0)));
    out.addAll(watched);
    return out;
  }

  private static String atStep(double v, long step) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.4f (step %d)", v, step);
  }

  /** A few aligned lines for the terminal. */
  public String format() {
    StringBuilder b = new StringBuilder("run summary");
    for (Entry e : entries()) {
      b.append(System.lineSeparator()).append(String.format(Locale.ROOT, "  %-11s %s", e.label(), e.value()));
    }
    return b.toString();
  }
}
