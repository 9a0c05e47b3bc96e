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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end-of-run report: a single self-contained {@code report.html} in the save directory (inline
 * CSS and SVG, no scripts, fonts or other external resources) with the run {@link Summary}, a table of
 * every numeric metric's final, minimum, maximum and mean value, and one line chart per metric of
 * {@code metrics.jsonl} against the step, in the order the metrics first appear. The markup is
 * well-formed XML as well as HTML, so tools can parse it either way.
 */
public final class RunReport {
  /** The report's file name in the save directory. */
  public static final String FILE_NAME = "report.html";
  private static final List<String> PALETTE =
      List.of("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2");
  private static final String STYLE = "body{font-family:sans-serif;margin:24px;color:#222}"
      + "table{border-collapse:collapse;margin-bottom:16px}td,th{border:1px solid #ccc;padding:3px 10px;"
      + "text-align:right}th:first-child,td:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap}"
      + ".chart-box{margin:8px}.plot{fill:#fafafa;stroke:#999}.grid{stroke:#e4e4e4}"
      + ".tick,.axis,.empty{font-size:11px;fill:#555}.series{stroke-width:1.5}";
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
      Files.createDirectories(saveDir);
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
    List<String> names = metricNames(rows);
    StringBuilder b = new StringBuilder();
    b.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n")
        .append("<meta charset=\"utf-8\"/>\n<title>").append(Html.escape(title)).append("</title>\n")
        .append("<style>").append(STYLE).append("</style>\n</head>\n<body>\n")
        .append("<h1>").append(Html.escape(title)).append("</h1>\n")
        .append("<p class=\"generated\">generated ").append(Instant.now()).append("</p>\n");
    summaryTable(b, summary);
    metricsTable(b, rows, names);
    b.append("<h2>Curves</h2>\n<div class=\"charts\">\n");
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i);
      b.append("<div class=\"chart-box\" id=\"metric-").append(i).append("\">\n<h3>").append(Html.escape(name))
          .append("</h3>\n").append(SvgChart.render(name, series(rows, name), PALETTE.get(i % PALETTE.size())))
          .append("</div>\n");
    }
    return b.append("</div>\n</body>\n</html>\n").toString();
  }

  private static void summaryTable(StringBuilder b, Summary summary) {
    b.append("<h2>Summary</h2>\n<table class=\"summary\">\n");
    for (String[] e : summary.entries()) {
      b.append("<tr><th>").append(Html.escape(e[0])).append("</th><td>").append(Html.escape(e[1]))
          .append("</td></tr>\n");
    }
    b.append("</table>\n");
  }

  private static void metricsTable(StringBuilder b, List<MetricsRow> rows, List<String> names) {
    b.append("<h2>Metrics</h2>\n<table class=\"metrics\">\n<tr><th>metric</th><th>final</th><th>min</th>"
        + "<th>max</th><th>mean</th><th>points</th></tr>\n");
    for (String name : names) {
      double last = Double.NaN;
      double min = Double.POSITIVE_INFINITY;
      double max = Double.NEGATIVE_INFINITY;
      double sum = 0;
      int n = 0;
      for (MetricsRow r : rows) {
        double v = r.get(name);
        if (Double.isFinite(v)) {
          last = v;
          min = Math.min(min, v);
          max = Math.max(max, v);
          sum += v;
          n++;
        }
      }
      b.append("<tr><td>").append(Html.escape(name)).append("</td>");
      for (double v : new double[] {last, min, max, sum / n}) {
        b.append("<td>").append(n == 0 ? "n/a" : SvgChart.number(v)).append("</td>");
      }
      b.append(String.format(Locale.ROOT, "<td>%d</td></tr>%n", n));
    }
    b.append("</table>\n");
  }

  private static List<SvgChart.Point> series(List<MetricsRow> rows, String name) {
    List<SvgChart.Point> out = new ArrayList<>();
    for (MetricsRow r : rows) {
      if (r.values().containsKey(name)) {
        out.add(new SvgChart.Point(r.step(), r.get(name)));
      }
    }
    return out;
  }
}
