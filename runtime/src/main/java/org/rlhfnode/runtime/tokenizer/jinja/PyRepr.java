package org.rlhfnode.runtime.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Python's {@code str()} and {@code repr()} of template values, which is what jinja2 prints:
 * {@code None}, {@code True}, {@code 1.0}, {@code 1e-05}, {@code ['a', 'b']}, {@code {'k': 'v'}}.
 */
final class PyRepr {
  private PyRepr() {}

  static String str(Object v) {
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof Undefined) {
      return "";
    }
    return repr(v);
  }

  static String repr(Object v) {
    if (v == null) {
      return "None";
    }
    if (v instanceof Boolean b) {
      return b ? "True" : "False";
    }
    if (Py.isInt(v)) {
      return v.toString();
    }
    if (Py.isFloat(v)) {
      return floatRepr(Py.toDouble(v));
    }
    if (v instanceof String s) {
      return stringRepr(s);
    }
    if (v instanceof Undefined) {
      return "Undefined";
    }
    return containerRepr(v);
  }

  private static String containerRepr(Object v) {
    if (v instanceof Tuple t) {
      return t.size() == 1 ? "(" + repr(t.get(0)) + ",)" : join("(", t, ")");
    }
    if (v instanceof PyRange) {
      return v.toString();
    }
    if (v instanceof List<?> list) {
      return join("[", list, "]");
    }
    if (v instanceof Map<?, ?> map) {
      StringJoiner j = new StringJoiner(", ", "{", "}");
      map.forEach((k, val) -> j.add(repr(k) + ": " + repr(val)));
      return j.toString();
    }
    if (v instanceof PyIter it) {
      if (!it.kind().sized) {
        throw new TemplateException("cannot print a " + it.kind().pyName + "; convert it with '|list' first");
      }
      return it.kind().pyName + "(" + join("[", it.viewItems(), "]") + ")";
    }
    return objectRepr(v);
  }

  private static String objectRepr(Object v) {
    if (v instanceof Namespace ns) {
      return "<Namespace " + repr(ns.attributes()) + ">";
    }
    if (v instanceof Macro m) {
      return "<Macro '" + m.name() + "'>";
    }
    if (v instanceof LoopContext loop) {
      return "<LoopContext " + (loop.index0() + 1) + "/" + loop.length() + ">";
    }
    if (v instanceof JCallable c) {
      return "<function " + c.name() + ">";
    }
    if (v instanceof BoundMethod m) {
      return "<built-in method " + m.name() + " of " + Py.typeName(m.self()) + " object>";
    }
    return v.toString();
  }

  private static String join(String open, List<?> items, String close) {
    StringJoiner j = new StringJoiner(", ", open, close);
    for (Object item : items) {
      j.add(repr(item));
    }
    return j.toString();
  }

  /** Python's repr of a str: single quotes unless the text has ' but no ", escapes as Python. */
  static String stringRepr(String s) {
    char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder sb = new StringBuilder(s.length() + 2).append(quote);
    s.codePoints().forEach(c -> appendReprChar(sb, c, quote));
    return sb.append(quote).toString();
  }

  private static void appendReprChar(StringBuilder sb, int c, char quote) {
    if (c == quote || c == '\\') {
      sb.append('\\').appendCodePoint(c);
    } else if (c == '\n') {
      sb.append("\\n");
    } else if (c == '\r') {
      sb.append("\\r");
    } else if (c == '\t') {
      sb.append("\\t");
    } else if (isPrintable(c)) {
      sb.appendCodePoint(c);
    } else if (c < 0x100) {
      sb.append(String.format("\\x%02x", c));
    } else if (c < 0x10000) {
      sb.append(String.format("\\u%04x", c));
    } else {
      sb.append(String.format("\\U%08x", c));
    }
  }

  /** Python's str.isprintable for one code point (space is the only printable separator). */
  private static boolean isPrintable(int c) {
    if (c == ' ') {
      return true;
    }
    switch (Character.getType(c)) {
      case Character.CONTROL:
      case Character.FORMAT:
      case Character.SURROGATE:
      case Character.PRIVATE_USE:
      case Character.UNASSIGNED:
      case Character.LINE_SEPARATOR:
      case Character.PARAGRAPH_SEPARATOR:
      case Character.SPACE_SEPARATOR:
        return false;
      default:
        return true;
    }
  }

  /**
   * Python's float repr: the shortest decimal that reads back as the same double, written in
   * positional form when the decimal exponent is in [-4, 16) and as {@code 1e-05} otherwise.
   */
  static String floatRepr(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    if (d == 0.0) {
      return 1.0 / d < 0 ? "-0.0" : "0.0";
    }
    BigDecimal shortest = shortestDecimal(d);
    String digits = shortest.unscaledValue().abs().toString();
    int decimalPoint = digits.length() - shortest.scale();
    String sign = d < 0 ? "-" : "";
    if (decimalPoint > 16 || decimalPoint < -3) {
      String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      int exponent = decimalPoint - 1;
      String expDigits = String.valueOf(Math.abs(exponent));
      return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (expDigits.length() < 2 ? "0" : "") + expDigits;
    }
    if (decimalPoint <= 0) {
      return sign + "0." + "0".repeat(-decimalPoint) + digits;
    }
    if (decimalPoint >= digits.length()) {
      return sign + digits + "0".repeat(decimalPoint - digits.length()) + ".0";
    }
    return sign + digits.substring(0, decimalPoint) + "." + digits.substring(decimalPoint);
  }

  private static BigDecimal shortestDecimal(double d) {
    BigDecimal exact = new BigDecimal(d);
    for (int precision = 1; precision < 17; precision++) {
      BigDecimal candidate = exact.round(new MathContext(precision, RoundingMode.HALF_EVEN));
      if (candidate.doubleValue() == d) {
        return candidate.stripTrailingZeros();
      }
    }
    return exact.round(new MathContext(17, RoundingMode.HALF_EVEN)).stripTrailingZeros();
  }
}
