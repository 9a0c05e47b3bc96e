package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Python {@code str} semantics on Java strings. Python indexes strings by code point and has its
 * own notion of whitespace (str.isspace), so Java's {@code String.strip} or {@code split("\\s+")}
 * would render some texts (emoji, non-breaking spaces) differently from HuggingFace.
 */
final class PyStr {
  private PyStr() {}

  static boolean isSpace(int c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0
        || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029
        || c == 0x202f || c == 0x205f || c == 0x3000;
  }

  static boolean isAllSpace(String s, int from) {
    for (int i = from; i < s.length(); i++) {
      if (!isSpace(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  static int length(String s) {
    return s.codePointCount(0, s.length());
  }

  static int[] codePoints(String s) {
    return s.codePoints().toArray();
  }

  static String fromCodePoints(int[] cps, int from, int to) {
    return to <= from ? "" : new String(cps, from, to - from);
  }

  private static boolean strips(int c, String chars) {
    return chars == null ? isSpace(c) : chars.indexOf(Character.toString(c)) >= 0;
  }

  static String strip(String s, String chars) {
    return rstrip(lstrip(s, chars), chars);
  }

  static String lstrip(String s, String chars) {
    int i = 0;
    while (i < s.length()) {
      int c = s.codePointAt(i);
      if (!strips(c, chars)) {
        break;
      }
      i += Character.charCount(c);
    }
    return s.substring(i);
  }

  static String rstrip(String s, String chars) {
    int e = s.length();
    while (e > 0) {
      int c = s.codePointBefore(e);
      if (!strips(c, chars)) {
        break;
      }
      e -= Character.charCount(c);
    }
    return s.substring(0, e);
  }

  /** str.split: {@code sep == null} splits on whitespace runs; {@code maxsplit < 0} means no limit. */
  static List<String> split(String s, String sep, long maxsplit) {
    if (sep != null) {
      checkSeparator(sep);
      List<String> out = new ArrayList<>();
      int start = 0;
      int idx;
      while ((maxsplit < 0 || out.size() < maxsplit) && (idx = s.indexOf(sep, start)) >= 0) {
        out.add(s.substring(start, idx));
        start = idx + sep.length();
      }
      out.add(s.substring(start));
      return out;
    }
    List<String> out = new ArrayList<>();
    int i = 0;
    int n = s.length();
    while (true) {
      while (i < n && isSpace(s.charAt(i))) {
        i++;
      }
      if (i >= n) {
        return out;
      }
      if (maxsplit >= 0 && out.size() == maxsplit) {
        out.add(s.substring(i));
        return out;
      }
      int j = i;
      while (j < n && !isSpace(s.charAt(j))) {
        j++;
      }
      out.add(s.substring(i, j));
      i = j;
    }
  }

  /** str.rsplit, splitting from the right. */
  static List<String> rsplit(String s, String sep, long maxsplit) {
    List<String> out = new ArrayList<>();
    if (sep != null) {
      checkSeparator(sep);
      int end = s.length();
      int idx;
      while ((maxsplit < 0 || out.size() < maxsplit) && end >= sep.length()
          && (idx = s.lastIndexOf(sep, end - sep.length())) >= 0) {
        out.add(s.substring(idx + sep.length(), end));
        end = idx;
      }
      out.add(s.substring(0, end));
      Collections.reverse(out);
      return out;
    }
    int j = s.length();
    while (true) {
      while (j > 0 && isSpace(s.charAt(j - 1))) {
        j--;
      }
      if (j <= 0) {
        break;
      }
      if (maxsplit >= 0 && out.size() == maxsplit) {
        out.add(s.substring(0, j));
        break;
      }
      int i = j;
      while (i > 0 && !isSpace(s.charAt(i - 1))) {
        i--;
      }
      out.add(s.substring(i, j));
      j = i;
    }
    Collections.reverse(out);
    return out;
  }

  private static void checkSeparator(String sep) {
    if (sep.isEmpty()) {
      throw new TemplateException("empty separator");
    }
  }

  private static boolean isLineBreak(char c) {
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e)
        || c == 0x85 || c == 0x2028 || c == 0x2029;
  }

  /** str.splitlines(keepends=False). */
  static List<String> splitlines(String s) {
    List<String> out = new ArrayList<>();
    int start = 0;
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (isLineBreak(c)) {
        out.add(s.substring(start, i));
        i += c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n' ? 2 : 1;
        start = i;
      } else {
        i++;
      }
    }
    if (start < s.length()) {
      out.add(s.substring(start));
    }
    return out;
  }

  private static boolean isCased(int c) {
    return Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
  }

  /** str.title: a cased character is upper-cased after an uncased one and lower-cased otherwise. */
  static String title(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    boolean previousCased = false;
    for (int c : codePoints(s)) {
      if (isCased(c)) {
        sb.appendCodePoint(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
        previousCased = true;
      } else {
        sb.appendCodePoint(c);
        previousCased = false;
      }
    }
    return sb.toString();
  }

  /** str.capitalize: first character title-cased, the rest lower-cased. */
  static String capitalize(String s) {
    if (s.isEmpty()) {
      return s;
    }
    int first = s.codePointAt(0);
    String rest = s.substring(Character.charCount(first));
    return new StringBuilder().appendCodePoint(Character.toTitleCase(first)).append(lower(rest)).toString();
  }

  static String upper(String s) {
    return s.toUpperCase(Locale.ROOT);
  }

  static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  /** str.find with optional code-point bounds; returns a code-point index or -1. */
  static long find(String s, String sub, boolean fromRight) {
    int idx = fromRight ? s.lastIndexOf(sub) : s.indexOf(sub);
    return idx < 0 ? -1 : s.codePointCount(0, idx);
  }

  static long count(String s, String sub) {
    if (sub.isEmpty()) {
      return length(s) + 1L;
    }
    long n = 0;
    int idx = s.indexOf(sub);
    while (idx >= 0) {
      n++;
      idx = s.indexOf(sub, idx + sub.length());
    }
    return n;
  }

  /** str.replace(old, new, count); an empty {@code old} inserts between code points as Python does. */
  static String replace(String s, String old, String replacement, long count) {
    if (count < 0 && !old.isEmpty()) {
      return s.replace(old, replacement);
    }
    StringBuilder sb = new StringBuilder();
    long done = 0;
    if (old.isEmpty()) {
      int[] cps = codePoints(s);
      for (int i = 0; i <= cps.length; i++) {
        if (count < 0 || done < count) {
          sb.append(replacement);
          done++;
        }
        if (i < cps.length) {
          sb.appendCodePoint(cps[i]);
        }
      }
      return sb.toString();
    }
    int start = 0;
    int idx;
    while (done < count && (idx = s.indexOf(old, start)) >= 0) {
      sb.append(s, start, idx).append(replacement);
      start = idx + old.length();
      done++;
    }
    return sb.append(s.substring(start)).toString();
  }

  /** Decodes a jinja2 string literal body the way Python's unicode-escape codec does. */
  static String unescape(String raw, int line) {
    if (raw.indexOf('\\') < 0) {
      return raw;
    }
    StringBuilder sb = new StringBuilder(raw.length());
    int i = 0;
    while (i < raw.length()) {
      char c = raw.charAt(i);
      if (c != '\\' || i + 1 >= raw.length()) {
        sb.append(c);
        i++;
      } else {
        i = unescapeOne(raw, i + 1, sb, line);
      }
    }
    return sb.toString();
  }

  private static int unescapeOne(String raw, int i, StringBuilder sb, int line) {
    char n = raw.charAt(i);
    String simple = "\\\\''\"\"a\u0007b\bf\fn\nr\rt\tv\u000b";
    for (int k = 0; k < simple.length(); k += 2) {
      if (simple.charAt(k) == n) {
        sb.append(simple.charAt(k + 1));
        return i + 1;
      }
    }
    if (n == '\n') {
      return i + 1;
    }
    if (n >= '0' && n <= '7') {
      int e = i;
      while (e < raw.length() && e < i + 3 && raw.charAt(e) >= '0' && raw.charAt(e) <= '7') {
        e++;
      }
      sb.appendCodePoint(Integer.parseInt(raw.substring(i, e), 8));
      return e;
    }
    int width = n == 'x' ? 2 : n == 'u' ? 4 : n == 'U' ? 8 : 0;
    if (width == 0) {
      if (n == 'N') {
        throw new TemplateException(line, "unsupported string escape '\\N{...}'");
      }
      sb.append('\\').append(n);
      return i + 1;
    }
    return unescapeHex(raw, i, width, sb, line);
  }

  private static int unescapeHex(String raw, int i, int width, StringBuilder sb, int line) {
    int end = i + 1 + width;
    if (end > raw.length()) {
      throw new TemplateException(line, "truncated \\" + raw.charAt(i) + " escape in string literal");
    }
    try {
      int cp = Integer.parseInt(raw.substring(i + 1, end), 16);
      sb.appendCodePoint(cp);
    } catch (IllegalArgumentException e) {
      throw new TemplateException(line, "invalid \\" + raw.charAt(i) + " escape in string literal");
    }
    return end;
  }
}
