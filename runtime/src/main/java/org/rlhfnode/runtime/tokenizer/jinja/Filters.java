package org.rlhfnode.runtime.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The jinja2 filters chat templates use, with HuggingFace's {@code tojson}. A filter that is not
 * registered here is rejected when the template is compiled. Sequence filters live in {@link SeqFilters}.
 */
final class Filters {
  /** One filter: the piped value plus the call's arguments. */
  interface Filter {
    Object apply(Object value, CallArgs args);
  }

  private static final Map<String, Filter> ALL = new HashMap<>();

  static {
    register(Map.of("upper", (v, a) -> PyStr.upper(str(v, a, "upper")),
        "lower", (v, a) -> PyStr.lower(str(v, a, "lower")),
        "capitalize", (v, a) -> PyStr.capitalize(str(v, a, "capitalize")),
        "title", (v, a) -> title(str(v, a, "title")),
        "string", (v, a) -> str(v, a, "string"),
        "safe", (v, a) -> str(v, a, "safe"),
        "e", Filters::escape,
        "escape", Filters::escape,
        "forceescape", Filters::escape,
        "trim", Filters::trim));
    register(Map.of("replace", Filters::replace, "center", Filters::center, "indent", Filters::indent,
        "format", Filters::format, "int", Filters::toInt, "float", Filters::toFloat, "abs", Filters::abs,
        "round", Filters::round, "tojson", Filters::tojson));
    SeqFilters.registerAll(ALL);
  }

  private Filters() {}

  private static void register(Map<String, Filter> filters) {
    ALL.putAll(filters);
  }

  static boolean exists(String name) {
    return ALL.containsKey(name);
  }

  static Object apply(String name, Object value, CallArgs args) {
    Filter f = ALL.get(name);
    if (f == null) {
      throw new TemplateException("unsupported filter '" + name + "'");
    }
    return f.apply(value, args);
  }

  /** Filters taking no argument besides the value. */
  private static String str(Object v, CallArgs a, String name) {
    a.bind("filter '" + name + "'");
    return PyRepr.str(v);
  }

  /** jinja2's title filter, which (unlike str.title) only starts words after spaces and brackets. */
  private static String title(String s) {
    StringBuilder sb = new StringBuilder();
    boolean wordStart = true;
    for (int c : PyStr.codePoints(s)) {
      boolean boundary = PyStr.isSpace(c) || "-({[<".indexOf(c) >= 0;
      sb.appendCodePoint(boundary ? c : wordStart ? Character.toUpperCase(c) : Character.toLowerCase(c));
      wordStart = boundary;
    }
    return sb.toString();
  }

  private static Object escape(Object v, CallArgs a) {
    a.bind("filter 'escape'");
    String s = PyRepr.str(v);
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&#34;")
        .replace("'", "&#39;");
  }

  private static Object trim(Object v, CallArgs a) {
    Object chars = a.bind("filter 'trim'", "chars")[0];
    return PyStr.strip(PyRepr.str(v), chars == CallArgs.MISSING || chars == null ? null : PyRepr.str(chars));
  }

  private static Object replace(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'replace'", "old", "new", "count");
    long count = p[2] == CallArgs.MISSING || p[2] == null ? -1 : Py.toLong(p[2]);
    return PyStr.replace(PyRepr.str(v), PyRepr.str(p[0]), PyRepr.str(p[1]), count);
  }

  private static Object center(Object v, CallArgs a) {
    Object width = CallArgs.or(a.bind("filter 'center'", "width")[0], 80L);
    String s = PyRepr.str(v);
    int missing = (int) Py.toLong(width) - PyStr.length(s);
    if (missing <= 0) {
      return s;
    }
    int left = missing / 2 + (missing & (int) Py.toLong(width) & 1);
    return " ".repeat(left) + s + " ".repeat(missing - left);
  }

  private static Object indent(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'indent'", "width", "first", "blank");
    Object width = CallArgs.or(p[0], 4L);
    String pad = width instanceof String s ? s : " ".repeat((int) Math.max(0, Py.toLong(width)));
    boolean first = Py.truthy(CallArgs.or(p[1], false));
    boolean blank = Py.truthy(CallArgs.or(p[2], false));
    List<String> lines = PyStr.splitlines(StrMethods.text(v, "filter 'indent'") + "\n");
    StringBuilder rv = new StringBuilder(lines.isEmpty() ? "" : lines.get(0));
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i);
      rv.append('\n').append(blank || !line.isEmpty() ? pad + line : line);
    }
    return first ? pad + rv : rv.toString();
  }

  private static Object format(Object v, CallArgs a) {
    if (!a.positional().isEmpty() && !a.keywords().isEmpty()) {
      throw new TemplateException("filter 'format' can't handle positional and keyword arguments at the same time");
    }
    Object args = a.keywords().isEmpty() ? new Tuple(a.positional()) : a.keywords();
    return Printf.format(PyRepr.str(v), args);
  }

  private static Object toInt(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'int'", "default", "base");
    Object fallback = CallArgs.or(p[0], 0L);
    if (v instanceof Undefined u) {
      throw u.error();
    }
    if (Py.isIntegral(v)) {
      return Py.toLong(v);
    }
    if (Py.isFloat(v)) {
      double d = Py.toDouble(v);
      return Double.isFinite(d) ? (Object) (long) d : fallback;
    }
    if (v instanceof String s) {
      String t = PyStr.strip(s, null).replace("_", "");
      try {
        return parseInt(t, (int) Py.toLong(CallArgs.or(p[1], 10L)));
      } catch (NumberFormatException e) {
        Object f = parseFloat(t);
        return f instanceof Double d && Double.isFinite(d) ? (Object) (long) (double) d : fallback;
      }
    }
    return fallback;
  }

  /** Python's int(text, base): optional sign, and a 0x/0o/0b prefix matching the base (or base 0). */
  private static long parseInt(String text, int base) {
    boolean negative = text.startsWith("-");
    String digits = negative || text.startsWith("+") ? text.substring(1) : text;
    String lower = PyStr.lower(digits);
    int radix = base;
    for (int candidate : new int[] {16, 8, 2}) {
      String prefix = candidate == 16 ? "0x" : candidate == 8 ? "0o" : "0b";
      if ((base == candidate || base == 0) && lower.startsWith(prefix)) {
        digits = digits.substring(2);
        radix = candidate;
      }
    }
    if (digits.isEmpty() || digits.startsWith("-") || digits.startsWith("+")) {
      throw new NumberFormatException(text);
    }
    long value = Long.parseLong(digits, radix == 0 ? 10 : radix);
    return negative ? -value : value;
  }

  private static Object toFloat(Object v, CallArgs a) {
    Object fallback = CallArgs.or(a.bind("filter 'float'", "default")[0], 0.0);
    if (v instanceof Undefined u) {
      throw u.error();
    }
    if (Py.isNumber(v)) {
      return Py.toDouble(v);
    }
    Object parsed = v instanceof String s ? parseFloat(PyStr.strip(s, null).replace("_", "")) : null;
    return parsed != null ? parsed : fallback;
  }

  /** Python float(str) syntax; null when it does not parse. */
  private static Object parseFloat(String t) {
    String lower = PyStr.lower(t);
    String unsigned = lower.startsWith("-") || lower.startsWith("+") ? lower.substring(1) : lower;
    if (unsigned.equals("inf") || unsigned.equals("infinity") || unsigned.equals("nan")) {
      double d = unsigned.equals("nan") ? Double.NaN : Double.POSITIVE_INFINITY;
      return lower.startsWith("-") ? -d : d;
    }
    if (!unsigned.matches("(\\d+\\.?\\d*|\\.\\d+)(e[+-]?\\d+)?")) {
      return null;
    }
    return Double.parseDouble(t);
  }

  private static Object abs(Object v, CallArgs a) {
    a.bind("filter 'abs'");
    if (Py.isIntegral(v)) {
      return Math.absExact(Py.toLong(v));
    }
    if (Py.isFloat(v)) {
      return Math.abs(Py.toDouble(v));
    }
    if (v instanceof Undefined u) {
      throw u.error();
    }
    throw new TemplateException("bad operand type for abs(): '" + Py.typeName(v) + "'");
  }

  private static Object round(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'round'", "precision", "method");
    int precision = (int) Py.toLong(CallArgs.or(p[0], 0L));
    Object method = CallArgs.or(p[1], "common");
    if (!Py.isNumber(v)) {
      throw v instanceof Undefined u ? u.error() : new TemplateException("filter 'round' needs a number");
    }
    if ("common".equals(method)) {
      if (Py.isIntegral(v)) {
        return new BigDecimal(Py.toLong(v)).setScale(precision, RoundingMode.HALF_EVEN).longValue();
      }
      double d = Py.toDouble(v);
      return Double.isFinite(d) ? new BigDecimal(d).setScale(precision, RoundingMode.HALF_EVEN).doubleValue() : d;
    }
    if (!"ceil".equals(method) && !"floor".equals(method)) {
      throw new TemplateException("method must be common, ceil or floor");
    }
    double scale = Math.pow(10, precision);
    double scaled = Py.toDouble(v) * scale;
    return ("ceil".equals(method) ? Math.ceil(scaled) : Math.floor(scaled)) / scale;
  }

  /** HuggingFace's tojson: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False). */
  private static Object tojson(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'tojson'", "ensure_ascii", "indent", "separators", "sort_keys");
    Object indent = CallArgs.or(p[1], null);
    String indentText = indent == null ? null
        : indent instanceof String s ? s : " ".repeat((int) Math.max(0, Py.toLong(indent)));
    Object separators = CallArgs.or(p[2], null);
    String item = null;
    String key = null;
    if (separators instanceof List<?> pair && pair.size() == 2) {
      item = PyRepr.str(pair.get(0));
      key = PyRepr.str(pair.get(1));
    } else if (separators != null) {
      throw new TemplateException("tojson separators must be an (item, key) pair");
    }
    boolean ascii = Py.truthy(CallArgs.or(p[0], false));
    return new Json(ascii, indentText, item, key, Py.truthy(CallArgs.or(p[3], false))).dumps(v);
  }
}
