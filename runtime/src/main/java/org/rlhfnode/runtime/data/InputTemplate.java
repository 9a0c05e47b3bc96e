package org.rlhfnode.runtime.data;

/**
 * The subset of Python's {@code str.format} that OpenRLHF's {@code input_template} uses: exactly one
 * placeholder {@code {}} (or {@code {0}}), with {@code {{} and {@code }}} standing for literal braces.
 * Anything else Python would reject, or format differently, is refused up front.
 */
final class InputTemplate {
  private InputTemplate() {}

  static void check(String template) {
    int placeholders = 0;
    for (int i = 0; i < template.length(); i++) {
      char c = template.charAt(i);
      if (c == '{' && at(template, i + 1) == '{' || c == '}' && at(template, i + 1) == '}') {
        i++;
      } else if (c == '{') {
        int close = template.indexOf('}', i);
        String field = close < 0 ? null : template.substring(i + 1, close);
        if (field == null || !(field.isEmpty() || field.equals("0"))) {
          throw new IllegalArgumentException("input_template may only use the placeholder {} (and {{ }} for braces), got '"
              + template + "'");
        }
        placeholders++;
        i = close;
      } else if (c == '}') {
        throw new IllegalArgumentException("input_template has a single '}' (write '}}'): '" + template + "'");
      }
    }
    if (placeholders != 1) {
      throw new IllegalArgumentException("input_template must contain exactly one {} placeholder, got " + placeholders
          + " in '" + template + "'");
    }
  }

  /** {@code template.format(text)} for a template that passed {@link #check}. */
  static String format(String template, String text) {
    StringBuilder out = new StringBuilder(template.length() + text.length());
    for (int i = 0; i < template.length(); i++) {
      char c = template.charAt(i);
      if ((c == '{' || c == '}') && at(template, i + 1) == c) {
        out.append(c);
        i++;
      } else if (c == '{') {
        out.append(text);
        i = template.indexOf('}', i);
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static char at(String s, int i) {
    return i < s.length() ? s.charAt(i) : '\0';
  }
}
