package org.rlhfnode.runtime.metrics;

/** Escaping for text and attribute values in the report, valid in both HTML and XML. */
final class Html {
  private Html() {}

  /** {@code s} with {@code & < > " '} replaced by entities XML also knows. */
  static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&': b.append("&amp;"); break;
        case '<': b.append("&lt;"); break;
        case '>': b.append("&gt;"); break;
        case '"': b.append("&quot;"); break;
        case '\'': b.append("&#39;"); break;
        default:
          // Control characters other than tab/newline are not allowed in XML 1.0 at all.
          b.append(c < 0x20 && c != '\t' && c != '\n' ? '?' : c);
      }
    }
    return b.toString();
  }
}
