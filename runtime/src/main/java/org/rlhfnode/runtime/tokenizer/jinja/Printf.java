package org.rlhfnode.runtime.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Python's printf-style {@code str % args}, used by the {@code %} operator and the {@code format}
 * filter. Floats are rounded from their exact binary value (as Python does), not from Java's
 * shortest decimal, so {@code '%.2f' % 2.675} gives {@code 2.67} as in Python.
 */
final class Printf {
  private static final String CONVERSIONS = "diouxXfFcrsa%";

  private final String format;
  private final List<?> args;
  private final Map<?, ?> mapping;
  private int pos;
  private int argIndex;

  private Printf(String format, Object args) {
    this.format = format;
    this.args = args instanceof Tuple t ? t : Collections.singletonList(args);
    this.mapping = args instanceof Map<?, ?> m ? m : null;
  }

  static String format(String format, Object args) {
    return new Printf(format, args).run();
  }

  private String run() {
    StringBuilder out = new StringBuilder();
    while (pos < format.length()) {
      char c = format.charAt(pos++);
      if (c != '%') {
        out.append(c);
      } else {
        out.append(spec());
      }
    }
    // Python only reports leftover arguments when they cannot be a mapping (lists and dicts can).
    boolean mappingLike = mapping != null || (args.size() == 1 && args.get(0) instanceof List && !(args instanceof Tuple));
    if (!mappingLike && argIndex < args.size()) {
      throw new TemplateException("not all arguments converted during string formatting");
    }
    return out.toString();
  }

  private String spec() {
    Object keyed = null;
    boolean hasKey = false;
    if (peek() == '(') {
      int close = format.indexOf(')', pos);
      if (close < 0 || mapping == null) {
        throw new TemplateException("format requires a mapping");
      }
      keyed = mapping.get(format.substring(pos + 1, close));
      hasKey = true;
      pos = close + 1;
    }
    String flags = take("-+ #0");
    int width = number();
    int precision = -1;
    if (peek() == '.') {
      pos++;
      precision = Math.max(0, number());
    }
    take("hlL");
    char conv = peek();
    if (CONVERSIONS.indexOf(conv) < 0) {
      throw new TemplateException("unsupported format character '" + conv + "'");
    }
    pos++;
    if (conv == '%') {
      return "%";
    }
    Object value = hasKey ? keyed : nextArg();
    return pad(convert(conv, value, precision, flags), width, flags, conv);
  }

  private char peek() {
    if (pos >= format.length()) {
      throw new TemplateException("incomplete format");
    }
    return format.charAt(pos);
  }

  private String take(String allowed) {
    int start = pos;
    while (pos < format.length() && allowed.indexOf(format.charAt(pos)) >= 0) {
      pos++;
    }
    return format.substring(start, pos);
  }

  private int number() {
    if (pos < format.length() && format.charAt(pos) == '*') {
      pos++;
      return (int) Py.toLong(nextArg());
    }
    String digits = take("0123456789");
    return digits.isEmpty() ? -1 : Integer.parseInt(digits);
  }

  private Object nextArg() {
    if (argIndex >= args.size()) {
      throw new TemplateException("not enough arguments for format string");
    }
    return args.get(argIndex++);
  }

  private static String convert(char conv, Object value, int precision, String flags) {
    switch (conv) {
      case 's':
        return precision >= 0 ? truncate(PyRepr.str(value), precision) : PyRepr.str(value);
      case 'r':
      case 'a':
        return precision >= 0 ? truncate(PyRepr.repr(value), precision) : PyRepr.repr(value);
      case 'c':
        return value instanceof String s ? s : Character.toString((int) Py.toLong(value));
      default:
        return signed(number(conv, value, precision), flags);
    }
  }

  private static String truncate(String s, int codePoints) {
    int[] cps = PyStr.codePoints(s);
    return PyStr.fromCodePoints(cps, 0, Math.min(codePoints, cps.length));
  }

  private static String number(char conv, Object value, int precision) {
    if (!Py.isNumber(value)) {
      throw new TemplateException("%" + conv + " format: a real number is required, not " + Py.typeName(value));
    }
    switch (conv) {
      case 'd':
      case 'i':
      case 'u':
        return Long.toString(Py.isIntegral(value) ? Py.toLong(value) : (long) Py.toDouble(value));
      case 'o':
        return Long.toString(Py.toLong(value), 8);
      case 'x':
        return Long.toString(Py.toLong(value), 16);
      case 'X':
        return Long.toString(Py.toLong(value), 16).toUpperCase(Locale.ROOT);
      case 'f':
      case 'F':
        return fixed(Py.toDouble(value), precision < 0 ? 6 : precision);
      default:
        throw new TemplateException("unsupported format character '" + conv + "'");
    }
  }

  static String fixed(double d, int precision) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      return PyRepr.floatRepr(d);
    }
    String s = new BigDecimal(d).setScale(precision, RoundingMode.HALF_EVEN).toPlainString();
    return d < 0 || (d == 0.0 && 1.0 / d < 0) ? (s.startsWith("-") ? s : "-" + s) : s;
  }

  private static String signed(String digits, String flags) {
    if (digits.startsWith("-")) {
      return digits;
    }
    return flags.contains("+") ? "+" + digits : flags.contains(" ") ? " " + digits : digits;
  }

  private static String pad(String s, int width, String flags, char conv) {
    int len = PyStr.length(s);
    if (width <= len) {
      return s;
    }
    String fill = " ".repeat(width - len);
    if (flags.contains("-")) {
      return s + fill;
    }
    boolean numeric = "srac".indexOf(conv) < 0;
    if (flags.contains("0") && numeric) {
      boolean sign = s.startsWith("-") || s.startsWith("+") || s.startsWith(" ");
      String zeros = "0".repeat(width - len);
      return sign ? s.charAt(0) + zeros + s.substring(1) : zeros + s;
    }
    return fill + s;
  }
}
