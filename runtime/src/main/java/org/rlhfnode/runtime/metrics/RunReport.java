package org.rlhfnode.runtime.metrics;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end-of-run report: a single self-contained {@code report.html} in the save directory (inline CSS and
 * SVG; no scripts, fonts or other external resources) with the run {@link Summary}, then one line chart per
 * metric of {@code metrics.jsonl} against the step, grouped by {@link MetricGroup} (rewards, KL, losses,
 * lengths, optimizer, phase times, throughput, other) in the order the metrics first appear (within a group
 * the training metrics before the held-out {@code eval_*} ones), then a table of
 * the charted metrics' final, minimum, maximum and mean values. Metrics that do not change get no chart but
 * one line each in "Not charted": constant ones (with their value; a single value counts), counters that are
 * exactly linear in the step ({@code iteration}, {@code policy_version}, {@code samples_total}) and those with
 * no finite value at all ({@code entropy} when not computed).
 *
 * <p>Noisy charts ({@link Series#noisy()}) also carry TensorBoard-style smoothed lines (debiased exponential
 * moving average, weights {@link #SMOOTHING}); radio buttons at the top of the charts choose one (or none), in
 * CSS alone, with TensorBoard's 0.6 preselected (0.9 once a series has {@value #LONG_SERIES} points). Metrics
 * with the same points as a charted one are named beside it instead. The markup is well-formed XML as well as HTML,
 * so tools can parse it either way.
 */
public final class RunReport {
  /** The report's file name in the save directory. */
  public static final String FILE_NAME = "report.html";
  /** Smoothing weights offered for noisy charts; the radio button of index K (from 1) shows {@code .ema-K}. */
  static final double[] SMOOTHING = {0.6, 0.9, 0.99};
  /** From this many points on, 0.9 is preselected instead of TensorBoard's 0.6. */
  static final int LONG_SERIES = 100;
  private static final List<String> PALETTE =
      List.of("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2");
  private static final String STYLE = "body{font-family:sans-serif;margin:24px;color:#222}"
      + "table{border-collapse:collapse;margin-bottom:16px}td,th{border:1px solid #ccc;padding:3px 10px;"
      + "text-align:right}th:first-child,td:first-child{text-align:left}.summary td{text-align:left}"
      + ".charts{display:flex;flex-wrap:wrap}.chart-box{margin:8px}.chart-box h4{margin:4px 0}"
      + ".plot{fill:#fafafa;stroke:#999}.grid{stroke:#e4e4e4}"
      + ".tick,.axis,.empty{font-size:11px;fill:#555}.series{stroke-width:1.5}.ema{display:none;stroke-width:2}"
      + ".smoothing{margin-right:8px}label{margin-right:12px}" + smoothingStyle();
  private static final Logger LOG = LoggerFactory.getLogger(RunReport.class);

  private RunReport() {}

  /**
   * At the end of a run: reads {@code saveDir/metrics.jsonl}, writes {@code saveDir/report.html},
   * prints the summary to {@code out} and returns it.
   */
  public static Summary finish(Path saveDir, Duration elapsed, PrintStream out) {
    List<MetricsRow> rows = MetricsFile.read(saveDir.resolve(MetricsFile.FILE_NAME));
    Summary summary = Summary.of(rows, elapsed);
    Path report = write(saveDir, rows, summary);
    out.println(summary.format());
    out.println("  report      " + report);
    out.flush();
    return summary;
  }

  /** Writes {@code report.html} for {@code rows} into {@code saveDir}, atomically; returns its path. */
  public static Path write(Path saveDir, List<MetricsRow> rows, Summary summary) {
    Path file = saveDir.resolve(FILE_NAME);
    Path tmp = saveDir.resolve("." + FILE_NAME + ".tmp");
    String title = "Run report: " + (saveDir.getFileName() == null ? saveDir : saveDir.getFileName());
    try {
      org.rlhfnode.runtime.io.OwnerOnly.createDirectories(saveDir);
      Files.writeString(tmp, render(title, rows, summary), StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write report: " + e, e);
    }
    LOG.info("wrote {} ({} metrics, {} rows)", file, metricNames(rows).size(), rows.size());
    return file;
  }

  /** Every metric name in the order of first appearance. */
  static List<String> metricNames(List<MetricsRow> rows) {
    Set<String> names = new LinkedHashSet<>();
    rows.forEach(r -> names.addAll(r.values().keySet()));
    return new ArrayList<>(names);
  }

  /** The whole document. */
  static String render(String title, List<MetricsRow> rows, Summary summary) {
    Layout layout = Layout.of(rows);
    StringBuilder b = new StringBuilder();
    b.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n")
        .append("<meta charset=\"utf-8\"/>\n<title>").append(Html.escape(title)).append("</title>\n")
        .append("<style>").append(STYLE).append("</style>\n</head>\n<body>\n")
        .append("<h1>").append(Html.escape(title)).append("</h1>\n")
        .append("<p class=\"generated\">generated ").append(Instant.now()).append("</p>\n");
    summaryTable(b, summary);
    if (!layout.charted().isEmpty()) {
      b.append("<h2>Charts</h2>\n");
      if (layout.charted().stream().anyMatch(Series::noisy)) {
        smoothingControl(b, layout.defaultSmoothing());
      }
      List<Series> ordered = inChartOrder(layout.charted());
      charts(b, ordered);
      metricsTable(b, ordered);
    }
    notCharted(b, layout);
    return b.append("</body>\n</html>\n").toString();
  }

  /** CSS that shows smoothed line K (and fades the raw line of noisy charts) while radio button K is checked. */
  private static String smoothingStyle() {
    StringBuilder show = new StringBuilder();
    StringBuilder fade = new StringBuilder();
    for (int k = 1; k <= SMOOTHING.length; k++) {
      show.append(k == 1 ? "" : ",").append("#smooth-").append(k).append(":checked~.groups .ema-").append(k);
      fade.append(k == 1 ? "" : ",").append("#smooth-").append(k).append(":checked~.groups .noisy .raw");
    }
    return show + "{display:inline}" + fade + "{stroke-opacity:.3}";
  }

  private static void smoothingControl(StringBuilder b, int checked) {
    b.append("<span class=\"smoothing\">smoothing (exponential moving average, as TensorBoard):</span>\n");
    for (int k = 0; k <= SMOOTHING.length; k++) {
      b.append("<input type=\"radio\" name=\"smoothing\" id=\"smooth-").append(k).append('"')
          .append(k == checked ? " checked=\"checked\"" : "").append("/><label for=\"smooth-").append(k)
          .append("\">").append(k == 0 ? "off" : SvgChart.number(SMOOTHING[k - 1])).append("</label>\n");
    }
  }

  /** By group, then training metrics before {@code eval_*} ones, then in first-logged order. */
  private static List<Series> inChartOrder(List<Series> charted) {
    return charted.stream().sorted(Comparator.comparing((Series s) -> MetricGroup.of(s.name()))
        .thenComparing(s -> s.name().startsWith("eval_"))).toList();
  }

  private static void charts(StringBuilder b, List<Series> ordered) {
    b.append("<div class=\"groups\">\n");
    for (MetricGroup group : MetricGroup.values()) {
      List<Series> members = ordered.stream().filter(s -> MetricGroup.of(s.name()) == group).toList();
      if (members.isEmpty()) {
        continue;
      }
      b.append("<h3 class=\"group\">").append(Html.escape(group.title())).append("</h3>\n<div class=\"charts\">\n");
      for (Series s : members) {
        int i = ordered.indexOf(s);
        boolean noisy = s.noisy();
        b.append("<div class=\"chart-box").append(noisy ? " noisy" : "").append("\" id=\"metric-").append(i)
            .append("\">\n<h4>").append(Html.escape(s.name())).append("</h4>\n")
            .append(SvgChart.render(s, PALETTE.get(i % PALETTE.size()), noisy ? SMOOTHING : new double[0]))
            .append("</div>\n");
      }
      b.append("</div>\n");
    }
    b.append("</div>\n");
  }

  /** One line per kind of metric that got no chart. */
  private static void notCharted(StringBuilder b, Layout layout) {
    if (layout.constant().isEmpty() && layout.counters().isEmpty() && layout.empty().isEmpty()
        && layout.copies().isEmpty()) {
      return;
    }
    b.append("<h2>Not charted</h2>\n<ul class=\"not-charted\">\n");
    if (!layout.constant().isEmpty()) {
      List<String> items = layout.constant().stream().map(s -> s.name() + " = " + SvgChart.number(s.last())
          + (s.size() == 1 ? " (step " + s.lastStep() + ")" : "")).toList();
      b.append("<li class=\"constant\">constant: ").append(Html.escape(String.join(", ", items))).append("</li>\n");
    }
    if (!layout.counters().isEmpty()) {
      b.append("<li class=\"counters\">counters (linear in the step): ")
          .append(Html.escape(String.join(", ", layout.counters().stream().map(Series::name).toList())))
          .append("</li>\n");
    }
    if (!layout.copies().isEmpty()) {
      List<String> items = layout.copies().entrySet().stream().map(e -> e.getKey() + " (= " + e.getValue() + ")")
          .toList();
      b.append("<li class=\"copies\">same values as a charted metric: ").append(Html.escape(String.join(", ", items)))
          .append("</li>\n");
    }
    if (!layout.empty().isEmpty()) {
      b.append("<li class=\"no-values\">no values logged: ")
          .append(Html.escape(String.join(", ", layout.empty().stream().map(Series::name).toList()))).append("</li>\n");
    }
    b.append("</ul>\n");
  }

  private static void summaryTable(StringBuilder b, Summary summary) {
    b.append("<h2>Summary</h2>\n<table class=\"summary\">\n");
    for (Summary.Entry e : summary.entries()) {
      b.append("<tr><th>").append(Html.escape(e.label())).append("</th><td>").append(Html.escape(e.value()))
          .append("</td></tr>\n");
    }
    b.append("</table>\n");
  }

  private static void metricsTable(StringBuilder b, List<Series> charted) {
    b.append("<h2>Metrics</h2>\n<table class=\"metrics\">\n<tr><th>metric</th><th>final</th><th>min</th>"
        + "<th>max</th><th>mean</th><th>points</th></tr>\n");
    for (Series s : charted) {
      b.append("<tr><td>").append(Html.escape(s.name())).append("</td>");
      for (double v : new double[] {s.last(), s.min(), s.max(), s.tailMean(s.size())}) {
        b.append("<td>").append(SvgChart.number(v)).append("</td>");
      }
      b.append(String.format(Locale.ROOT, "<td>%d</td></tr>%n", s.size()));
    }
    b.append("</table>\n");
  }

  /**
   * Which metrics get a chart, in first-logged order, and which are listed instead; {@code copies} maps a
   * metric with exactly the points of a charted one (PPO's {@code loss} is its {@code policy_loss}) to it.
   */
  record Layout(List<Series> charted, List<Series> constant, List<Series> counters, List<Series> empty,
      Map<String, String> copies) {
    static Layout of(List<MetricsRow> rows) {
      Layout l = new Layout(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
          new LinkedHashMap<>());
      for (String name : metricNames(rows)) {
        Series s = Series.of(rows, name);
        Series twin = l.charted().stream().filter(s::samePoints).findFirst().orElse(null);
        if (twin != null) {
          l.copies().put(name, twin.name());
        } else {
          (s.empty() ? l.empty() : s.constant() ? l.constant() : s.counter() ? l.counters() : l.charted()).add(s);
        }
      }
      return l;
    }

    /** The smoothing preselected: TensorBoard's 0.6, or 0.9 when a series has 100 points or more. */
    int defaultSmoothing() {
      return charted.stream().anyMatch(s -> s.size() >= LONG_SERIES) ? 2 : 1;
    }
  }
}
