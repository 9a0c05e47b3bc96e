package org.rlhfnode.runtime.data;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * Conditional SFT data (algorithms.md §11): each prompt is rewritten as
 * {@code {prompt} <rm_score>: {score to 2 decimals} } (OpenRLHF's default reward template, note the
 * trailing space), optionally after z-normalising the scores over the dataset; then plain SFT. At
 * inference the wanted score is written into the prompt the same way.
 */
public final class ConditionalSft {
  /** The tag OpenRLHF puts before the score. */
  public static final String SCORE_TAG = "<rm_score>";

  private ConditionalSft() {}

  /** {@code prompt + " <rm_score>: " + score + " "} with the score as Python's {@code "{:.2f}"}. */
  public static String conditionPrompt(String prompt, double score) {
    return prompt + " " + SCORE_TAG + ": " + formatScore(score) + " ";
  }

  /**
   * Python's {@code "{:.2f}".format(score)}: the exact binary value rounded half-even, so 0.125
   * gives "0.12" and −0.001 gives "-0.00".
   */
  public static String formatScore(double score) {
    if (!Double.isFinite(score)) {
      throw new IllegalArgumentException("score must be finite, got " + score);
    }
    String s = new BigDecimal(score).setScale(2, RoundingMode.HALF_EVEN).toPlainString();
    boolean negative = score < 0 || Double.doubleToRawLongBits(score) == Long.MIN_VALUE;
    return negative && !s.startsWith("-") ? "-" + s : s;
  }

  /** (s − mean) / std with the sample std (n − 1), floored at 1e-8; needs at least two scores. */
  public static double[] zNormalize(double[] scores) {
    if (scores.length < 2) {
      throw new IllegalArgumentException("z-normalising needs at least 2 scores, got " + scores.length);
    }
    double mean = 0.0;
    for (double s : scores) {
      mean += s;
    }
    mean /= scores.length;
    double ss = 0.0;
    for (double s : scores) {
      ss += (s - mean) * (s - mean);
    }
    double std = Math.max(1e-8, Math.sqrt(ss / (scores.length - 1)));
    double[] out = new double[scores.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (scores[i] - mean) / std;
    }
    return out;
  }

  /**
   * Records with the text under {@code inputKey} rewritten with the score under {@code scoreKey}
   * (OpenRLHF writes it as "reward"), z-normalised first when {@code normalize}.
   */
  public static List<JsonRecord> rewrite(List<JsonRecord> records, String inputKey, String scoreKey,
      boolean normalize) {
    double[] scores = new double[records.size()];
    for (int i = 0; i < scores.length; i++) {
      JsonRecord r = records.get(i);
      if (!r.has(scoreKey)) {
        throw r.error("missing key '" + scoreKey + "' (the reward model score)");
      }
      scores[i] = r.numberOrZero(scoreKey, "score key");
    }
    return rewrite(records, inputKey, scores, normalize);
  }

  /** Records with the text under {@code inputKey} conditioned on the given scores (one per record). */
  public static List<JsonRecord> rewrite(List<JsonRecord> records, String inputKey, double[] scores,
      boolean normalize) {
    if (scores.length != records.size()) {
      throw new IllegalArgumentException("one score per record expected");
    }
    if (normalize) {
      scores = zNormalize(scores);
    }
    List<JsonRecord> out = new ArrayList<>(records.size());
    for (int i = 0; i < scores.length; i++) {
      JsonRecord r = records.get(i);
      out.add(r.withText(inputKey, conditionPrompt(r.text(inputKey, "input_key"), scores[i])));
    }
    return out;
  }
}
