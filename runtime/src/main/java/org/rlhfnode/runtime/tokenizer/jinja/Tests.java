package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** jinja2's tests ({@code x is defined}, {@code x is divisibleby 3}, ...); unknown ones fail at compile time. */
final class Tests {
  private interface Test {
    boolean test(Object value, CallArgs args);
  }

  private static final Map<String, Test> ALL = new HashMap<>();

  static {
    unary("defined", v -> !(v instanceof Undefined));
    unary("undefined", v -> v instanceof Undefined);
    unary("none", v -> v == null);
    unary("boolean", v -> v instanceof Boolean);
    unary("true", Boolean.TRUE::equals);
    unary("false", Boolean.FALSE::equals);
    unary("integer", Py::isInt);
    unary("float", Py::isFloat);
    unary("number", Py::isNumber);
    unary("string", v -> v instanceof String);
    unary("mapping", v -> v instanceof Map);
    unary("iterable", v -> v instanceof String || v instanceof Collection || v instanceof Map
        || v instanceof PyIter || v instanceof Undefined);
    unary("sequence", v -> v instanceof String || v instanceof List || v instanceof Map
        || v instanceof Undefined);
    unary("callable", v -> v instanceof JCallable || v instanceof BoundMethod || v instanceof Undefined);
    unary("odd", v -> Py.eq(PyOps.binary("%", v, 2L), 1L));
    unary("even", v -> Py.eq(PyOps.binary("%", v, 2L), 0L));
    unary("lower", v -> isCase(PyRepr.str(v), true));
    unary("upper", v -> isCase(PyRepr.str(v), false));
    unary("filter", v -> v instanceof String s && Filters.exists(s));
    unary("test", v -> v instanceof String s && ALL.containsKey(s));
    binary("divisibleby", (v, n) -> Py.eq(PyOps.binary("%", v, n), 0L));
    binary("in", (v, seq) -> Py.contains(seq, v));
    binary("sameas", Tests::sameAs);
    for (String name : List.of("eq", "equalto", "==")) {
      binary(name, Py::eq);
    }
    for (String name : List.of("ne", "!=")) {
      binary(name, (a, b) -> !Py.eq(a, b));
    }
    comparison(List.of("lt", "lessthan", "<"), c -> c < 0);
    comparison(List.of("le", "<="), c -> c <= 0);
    comparison(List.of("gt", "greaterthan", ">"), c -> c > 0);
    comparison(List.of("ge", ">="), c -> c >= 0);
  }

  private Tests() {}

  private static void unary(String name, Predicate<Object> p) {
    ALL.put(name, (v, args) -> {
      args.bind("test '" + name + "'");
      return p.test(v);
    });
  }

  private interface BinaryTest {
    boolean test(Object value, Object other);
  }

  private static void binary(String name, BinaryTest t) {
    ALL.put(name, (v, args) -> {
      Object other = args.bind("test '" + name + "'", "other")[0];
      if (other == CallArgs.MISSING) {
        throw new TemplateException("test '" + name + "' needs an argument");
      }
      return t.test(v, other);
    });
  }

  private static void comparison(List<String> names, Predicate<Integer> accept) {
    for (String name : names) {
      binary(name, (a, b) -> accept.test(Py.compare(a, b, name)));
    }
  }

  static boolean exists(String name) {
    return ALL.containsKey(name);
  }

  static boolean apply(String name, Object value, CallArgs args) {
    Test t = ALL.get(name);
    if (t == null) {
      throw new TemplateException("unsupported test '" + name + "'");
    }
    return t.test(value, args);
  }

  private static boolean isCase(String s, boolean lower) {
    boolean anyCased = s.codePoints().anyMatch(c -> Character.isUpperCase(c) || Character.isLowerCase(c));
    return anyCased && (lower ? PyStr.lower(s) : PyStr.upper(s)).equals(s);
  }

  /** Python's {@code is}: singletons and small ints are identical, other values only to themselves. */
  private static boolean sameAs(Object a, Object b) {
    if (a == null || b == null || a instanceof Boolean || b instanceof Boolean) {
      return a == null ? b == null : a.equals(b);
    }
    if (Py.isInt(a) && Py.isInt(b)) {
      long x = Py.toLong(a);
      return x == Py.toLong(b) && x >= -5 && x <= 256;
    }
    return a == b;
  }
}
