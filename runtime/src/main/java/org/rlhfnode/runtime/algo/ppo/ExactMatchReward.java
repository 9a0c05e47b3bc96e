package org.rlhfnode.runtime.algo.ppo;

import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The rule reward {@code exact_match} (a verifiable reward): 1 when the response's final answer equals
 * the prompt's label, else 0; 0 for a prompt without a label. The final answer of a text is, in this
 * order of preference: the content of its last {@code \boxed{…}}; the text after its last {@code ####}
 * (GSM8K style); for the response its last number; the whole text. Both answers are
 * normalised (trimmed, surrounding {@code $} and a final period removed, thousands separators dropped)
 * and compared as numbers when both are numbers ({@code 7.0} equals {@code 7}), else as text.
 */
public final class ExactMatchReward implements RewardFunction {
  private static final Pattern NUMBER = Pattern.compile("-?\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|-?\\d+(?:\\.\\d+)?");
  private static final String BOXED = "\\boxed{";
  private static final String HASHES = "####";

  @Override
  public double score(String prompt, String response) {
    return score(prompt, response, "");
  }

  @Override
  public double score(String prompt, String response, String label) {
    if (label.isBlank()) {
      return 0.0;
    }
    return same(answer(response, true), answer(label, false)) ? 1.0 : 0.0;
  }

  /** The final answer of {@code text}, normalised; {@code lastNumber}: fall back on the last number. */
  static String answer(String text, boolean lastNumber) {
    String boxed = lastBoxed(text);
    if (boxed != null) {
      return normalise(boxed);
    }
    int hashes = text.lastIndexOf(HASHES);
    if (hashes >= 0) {
      return normalise(text.substring(hashes + HASHES.length()));
    }
    Matcher m = NUMBER.matcher(text);
    String last = null;
    while (lastNumber && m.find()) {
      last = m.group();
    }
    return normalise(last != null ? last : text);
  }

  /** The content of the last {@code \boxed{…}} with balanced braces, or null. */
  private static String lastBoxed(String text) {
    int start = text.lastIndexOf(BOXED);
    if (start < 0) {
      return null;
    }
    int depth = 1;
    int from = start + BOXED.length();
    for (int i = from; i < text.length(); i++) {
      char c = text.charAt(i);
      depth += c == '{' ? 1 : c == '}' ? -1 : 0;
      if (depth == 0) {
        return text.substring(from, i);
      }
    }
    return null; // unclosed: not an answer
  }

  private static String normalise(String s) {
    String t = s.strip();
    while (t.length() > 1 && t.startsWith("$") && t.endsWith("$")) {
      t = t.substring(1, t.length() - 1).strip();
    }
    if (t.endsWith(".")) {
      t = t.substring(0, t.length() - 1).strip();
    }
    return t.matches("-?\\d{1,3}(,\\d{3})+(\\.\\d+)?") ? t.replace(",", "") : t;
  }

  private static boolean same(String a, String b) {
    BigDecimal x = number(a);
    BigDecimal y = number(b);
    return x != null && y != null ? x.compareTo(y) == 0 : a.equals(b);
  }

  private static BigDecimal number(String s) {
    try {
      return new BigDecimal(s);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
