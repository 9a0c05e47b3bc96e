package org.rlhfnode.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class RunReportTest {
  private static final int STEPS = 25;
  private static final int EVAL_EVERY = 5;

  @TempDir
  Path saveDir;

  /** A DPO-like run: the standard metrics each step, an eval loss every 5 steps, one NaN grad norm. */
  private void writeRun() {
    try (MetricsWriter w = new MetricsWriter(saveDir)) {
      for (int s = 1; s <= STEPS; s++) {
        double loss = 0.7 * Math.exp(-s / 10.0) + (s == 20 ? -0.05 : 0);
        Map<String, Number> algo = new LinkedHashMap<>();
        algo.put("reward_accuracy", 0.5 + s * s / 1000.0);
        if (s % EVAL_EVERY == 0) {
          algo.put("eval_loss", loss + 0.1);
        }
        algo.put("a<b&\"c\"", s);
        w.log(s, loss, 5e-7 * Math.min(1, s / 5.0), s == 13 ? Double.NaN : 1.0 / s, 2000 + (s % 3) * 10, algo);
      }
    }
  }

  private static Document parse(Path file) throws Exception {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
    f.setExpandEntityReferences(false);
    return f.newDocumentBuilder().parse(file.toFile());
  }

  private Summary finishRun(ByteArrayOutputStream printed) {
    writeRun();
    return RunReport.finish(saveDir, Duration.ofSeconds(75), new PrintStream(printed, true, StandardCharsets.UTF_8));
  }

  @Test
  void reportHasOneParseableSvgPerChangingMetricGroupedWithAPointPerStep() throws Exception {
    finishRun(new ByteArrayOutputStream());
    Document doc = parse(saveDir.resolve(RunReport.FILE_NAME));
    // grouped: rewards, losses, optimizer, throughput; the counter a<b&"c" (= step) gets no chart
    List<String> metrics = List.of("reward_accuracy", "loss", "eval_loss", "lr", "grad_norm", "tokens_per_s");
    NodeList svgs = doc.getElementsByTagName("svg");
    NodeList headings = doc.getElementsByTagName("h4");
    assertEquals(metrics.size(), svgs.getLength());
    List<String> shown = new ArrayList<>();
    for (int i = 0; i < svgs.getLength(); i++) {
      String metric = headings.item(i).getTextContent();
      shown.add(metric);
      Element svg = (Element) svgs.item(i);
      List<Element> raw = polylines(svg, "series raw");
      assertEquals(1, raw.size(), metric);
      int expected = metric.equals("grad_norm") ? STEPS - 1 // the NaN is left out
          : metric.equals("eval_loss") ? STEPS / EVAL_EVERY : STEPS;
      assertEquals(expected, points(raw.get(0)).length, metric);
      assertEquals(metric + " vs step", svg.getElementsByTagName("title").item(0).getTextContent());
      List<Element> smoothed = polylines(svg, "ema");
      assertEquals(metric.equals("tokens_per_s") ? RunReport.SMOOTHING.length : 0, smoothed.size(),
          metric + ": only the noisy series is smoothed");
      smoothed.forEach(e -> assertEquals(expected, points(e).length));
    }
    assertEquals(metrics, shown, "charts grouped, then in first-logged order");
    assertEquals(2, doc.getElementsByTagName("table").getLength(), "summary and metrics tables");
    String hidden = doc.getElementsByTagName("ul").item(0).getTextContent();
    assertTrue(hidden.contains("counters (linear in the step): a<b&\"c\""), hidden);
  }

  private static List<Element> polylines(Element svg, String cssClass) {
    List<Element> out = new ArrayList<>();
    NodeList all = svg.getElementsByTagName("polyline");
    for (int i = 0; i < all.getLength(); i++) {
      Element e = (Element) all.item(i);
      if (e.getAttribute("class").startsWith(cssClass)) {
        out.add(e);
      }
    }
    return out;
  }

  private static String[] points(Element polyline) {
    return polyline.getAttribute("points").trim().split(" ");
  }

  @Test
  void reportIsSelfContained() throws Exception {
    finishRun(new ByteArrayOutputStream());
    String html = Files.readString(saveDir.resolve(RunReport.FILE_NAME));
    assertTrue(html.startsWith("<!DOCTYPE html>"));
    assertFalse(html.contains("<script"), "no scripts");
    assertFalse(html.contains("src=") || html.contains("href=") || html.contains("@import") || html.contains("url("),
        "nothing external");
  }

  @Test
  void summaryIsPrintedAndInTheReport() throws Exception {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    Summary summary = finishRun(printed);
    assertEquals(STEPS, summary.lastStep());
    assertEquals(STEPS, summary.loggedRows());
    assertEquals(20, summary.bestLossStep());
    assertEquals(25, summary.finalLossStep());
    assertEquals(2000 + 10 * (9 + 2 * 8) / 25.0, summary.meanTokensPerS(), 1e-9); // s % 3 = 1 nine times, 2 eight
    String text = printed.toString(StandardCharsets.UTF_8);
    assertTrue(text.startsWith("run summary"), text);
    assertTrue(text.contains("time        01:15"), text);
    assertTrue(text.contains("report      " + saveDir.resolve(RunReport.FILE_NAME)), text);
    String table = parse(saveDir.resolve(RunReport.FILE_NAME)).getElementsByTagName("table").item(0).getTextContent();
    assertTrue(table.contains("best loss") && table.contains("(step 20)"), table);
  }

  @Test
  void emptyRunStillGivesAValidReport() throws Exception {
    Summary s = RunReport.finish(saveDir, Duration.ZERO, new PrintStream(new ByteArrayOutputStream(), true,
        StandardCharsets.UTF_8));
    Document doc = parse(saveDir.resolve(RunReport.FILE_NAME));
    assertEquals(0, doc.getElementsByTagName("svg").getLength());
    assertTrue(Double.isNaN(s.finalLoss()));
    assertEquals(-1, s.lastStep());
  }

  @Test
  void constantAndSinglePointSeriesAreDrawable() {
    String flat = SvgChart.render("lr", List.of(new SvgChart.Point(1, 3e-6), new SvgChart.Point(2, 3e-6)), "#000");
    assertFalse(flat.contains("NaN") || flat.contains("Infinity"), flat);
    String one = SvgChart.render("x", List.of(new SvgChart.Point(7, 1.0)), "#000");
    assertTrue(one.contains("<circle"), one);
    assertFalse(one.contains("NaN"), one);
    assertEquals("0.001235", SvgChart.number(0.00123456));
    assertEquals("2.5", SvgChart.number(2.5));
    assertEquals("123500", SvgChart.number(123456));
    assertEquals("1.235e+07", SvgChart.number(12345678));
    assertEquals("-1", SvgChart.number(-1.0));
  }
}
