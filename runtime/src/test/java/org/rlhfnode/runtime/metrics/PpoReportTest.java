package org.rlhfnode.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

/** The report of a PPO-like run: the summary leads with rewards, flat series get no chart, ticks are round. */
class PpoReportTest {
  private static final int ITERATIONS = 60;

  @TempDir
  Path saveDir;

  /** Rows as the PPO supervisor writes them: noisy reward, counters, a constant β, two metrics never computed. */
  private List<MetricsRow> ppoRows() {
    Random random = new Random(7);
    List<MetricsRow> rows = new ArrayList<>();
    Map<String, Double> start = new LinkedHashMap<>(); // the evaluation of the starting policy, as RunLog writes it
    start.put("iteration", 0.0);
    start.put("policy_version", 0.0);
    start.put("eval_reward_mean", 0.20);
    rows.add(new MetricsRow(0, start));
    for (int s = 1; s <= ITERATIONS; s++) {
      Map<String, Double> r = new LinkedHashMap<>();
      r.put("iteration", (double) s);
      r.put("reward_mean", 0.2 + 0.5 * s / ITERATIONS + 0.4 * (random.nextDouble() - 0.5));
      r.put("kl", 0.001 * s + 0.002 * random.nextDouble());
      r.put("kl_coef", 0.01);
      r.put("policy_loss", -0.05 + 0.1 * random.nextDouble());
      r.put("loss", r.get("policy_loss")); // PPO logs its policy loss under both names
      r.put("value_loss", 1.0 / s);
      r.put("response_length", 40.0 - s / 3.0 + s % 2);
      r.put("entropy", Double.NaN);
      r.put("kl_loss", Double.NaN);
      r.put("time_generate", 2.0 + 0.1 * (s % 4));
      r.put("time_train", 3.0 + 0.2 * (s % 2));
      r.put("policy_version", (double) s);
      r.put("samples_total", 32.0 * s);
      if (s % 20 == 0) {
        r.put("eval_reward_mean", 0.2 + 0.01 * s);
      }
      rows.add(new MetricsRow(s, r));
    }
    return rows;
  }

  @Test
  void summaryLeadsWithRewardAndEvalRewardAndHasNoBestLoss() {
    Summary s = Summary.of(ppoRows(), Duration.ofMinutes(3));
    assertTrue(s.reinforcement());
    Map<String, String> entries = s.entries().stream()
        .collect(Collectors.toMap(Summary.Entry::label, Summary.Entry::value, (a, b) -> a, LinkedHashMap::new));
    assertEquals(List.of("steps", "time", "reward", "eval reward", "KL", "policy loss", "value loss", "length",
        "phase times", "tokens/s"), List.copyOf(entries.keySet()));
    assertFalse(entries.containsKey("best loss"));
    assertTrue(entries.get("eval reward").startsWith("0.2 → 0.8, best 0.8000 (step 60)"), entries.get("eval reward"));
    // response_length = 40 − s/3 + (s mod 2): first ten (s = 1..10) mean 40 − 5.5/3 + 0.5, last ten (51..60) 40 − 55.5/3 + 0.5
    assertEquals("38.67 → 22 tokens (means of the first and last 10; last 20)", entries.get("length"));
    // time_generate 2.0 + 0.1·(s mod 4): mean 2.15 over 60 iterations; time_train 3.0 + 0.2·(s mod 2): 3.1
    assertEquals("generate 2.15 s, train 3.10 s (mean per iteration)", entries.get("phase times"));
    assertTrue(s.format().contains("  eval reward 0.2 → 0.8"), s.format());
  }

  @Test
  void constantCounterAndEmptySeriesAreListedNotCharted() throws Exception {
    List<MetricsRow> rows = ppoRows();
    Path file = RunReport.write(saveDir, rows, Summary.of(rows, Duration.ZERO));
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
    Document doc = f.newDocumentBuilder().parse(file.toFile());
    List<String> charted = texts(doc.getElementsByTagName("h4"));
    assertEquals(List.of("reward_mean", "eval_reward_mean", "kl", "policy_loss", "value_loss", "response_length",
        "time_generate", "time_train"), charted);
    assertEquals(List.of("Rewards", "KL", "Losses", "Response lengths", "Phase times (s)"),
        texts(doc.getElementsByTagName("h3")));
    String hidden = doc.getElementsByTagName("ul").item(0).getTextContent();
    assertTrue(hidden.contains("constant: kl_coef = 0.01"), hidden);
    assertTrue(hidden.contains("counters (linear in the step): iteration, policy_version, samples_total"), hidden);
    assertTrue(hidden.contains("no values logged: entropy, kl_loss"), hidden);
    assertTrue(hidden.contains("same values as a charted metric: loss (= policy_loss)"), hidden);
    String html = Files.readString(file, StandardCharsets.UTF_8);
    assertTrue(html.contains("id=\"smooth-1\" checked=\"checked\""), "TensorBoard's 0.6 is preselected");
    assertTrue(Pattern.compile("class=\"chart-box noisy\" id=\"metric-\\d+\">\\n<h4>reward_mean</h4>").matcher(html)
        .find(), "reward_mean is noisy: smoothed");
    assertFalse(html.contains("best loss"));
    assertFalse(html.contains("<script"));
  }

  @Test
  void niceTicksAreRoundMultiplesOfOneTwoOrFive() {
    assertArrayEquals(new double[] {0.8, 0.9, 1.0}, NiceTicks.of(0.7674, 1.036, SvgChart.Y_TICKS), 0);
    assertArrayEquals(new double[] {200, 400, 600, 800, 1000, 1200}, NiceTicks.of(1, 1200, SvgChart.X_TICKS), 0);
    assertArrayEquals(new double[] {0, 0.5, 1}, NiceTicks.of(0, 1, 3), 0);
    assertArrayEquals(new double[] {5, 10, 15, 20, 25}, NiceTicks.of(1, 25, 6), 0);
    assertArrayEquals(new double[] {-0.002, 0, 0.002}, NiceTicks.of(-0.0031, 0.0029, 3), 0);
    assertArrayEquals(new double[] {0.1, 0.2, 0.3}, NiceTicks.of(0.05, 0.33, 3), 0, "exact decimals, no 0.30000000000000004");
    assertArrayEquals(new double[] {2e-6, 4e-6, 6e-6}, NiceTicks.of(1.5e-6, 6.2e-6, 3), 1e-20);
    assertEquals(0, NiceTicks.of(1, 0, 3).length);
    assertEquals("5e-04", SvgChart.number(5e-4), "tick labels carry no padding zeros");
    assertEquals("1.2e+08", SvgChart.number(1.2e8));
  }

  @Test
  void smoothingIsTensorBoardsDebiasedMovingAverage() {
    // w = 0.5: m1 = 0.5 → 0.5/0.5 = 1; m2 = 0.25 + 1 = 1.25 → 1.25/0.75; m3 = 0.625 + 1.5 = 2.125 → 2.125/0.875
    assertArrayEquals(new double[] {1, 1.25 / 0.75, 2.125 / 0.875}, Series.smoothed(new double[] {1, 2, 3}, 0.5),
        1e-12);
    assertArrayEquals(new double[] {4, 4, 4, 4}, Series.smoothed(new double[] {4, 4, 4, 4}, 0.9), 1e-12,
        "a constant stays constant (no pull towards 0)");
    assertArrayEquals(new double[] {3, -1}, Series.smoothed(new double[] {3, -1}, 0), 0);
  }

  @Test
  void longRunsPreselectStrongerSmoothing() {
    List<MetricsRow> rows = new ArrayList<>();
    Random random = new Random(3);
    for (int s = 1; s <= RunReport.LONG_SERIES; s++) {
      rows.add(new MetricsRow(s, Map.of("reward_mean", random.nextDouble())));
    }
    assertEquals(2, RunReport.Layout.of(rows).defaultSmoothing(), "0.9 from 100 points on");
    assertEquals(1, RunReport.Layout.of(rows.subList(0, RunReport.LONG_SERIES - 1)).defaultSmoothing(), "0.6 below");
    assertEquals(0.9, RunReport.SMOOTHING[2 - 1]);
  }

  @Test
  void seriesKindsAreRecognised() {
    List<MetricsRow> rows = ppoRows();
    assertTrue(Series.of(rows, "reward_mean").noisy());
    assertFalse(Series.of(rows, "value_loss").noisy(), "monotone");
    assertTrue(Series.of(rows, "samples_total").counter());
    assertFalse(Series.of(rows, "response_length").counter(), "falls, but not exactly linearly");
    assertTrue(Series.of(rows, "kl_coef").constant());
    assertTrue(Series.of(rows, "entropy").empty());
  }

  private static List<String> texts(NodeList nodes) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < nodes.getLength(); i++) {
      out.add(nodes.item(i).getTextContent());
    }
    return out;
  }
}
