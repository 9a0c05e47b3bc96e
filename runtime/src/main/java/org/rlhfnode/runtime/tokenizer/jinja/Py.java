package org.rlhfnode.runtime.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python value semantics for template values: truthiness, equality, ordering, iteration and
 * length. Values are Java objects: null is None, Long/Integer are int, Double is float,
 * List is list, {@link Tuple} is tuple, Map is dict (insertion ordered).
 */
final class Py {
  private Py() {}

  static boolean isInt(Object v) {
    return v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte
        || v instanceof BigInteger;
  }

  static boolean isFloat(Object v) {
    return v instanceof Double || v instanceof Float || v instanceof BigDecimal;
  }

  /** Python's numbers.Number, which includes bool. */
  static boolean isNumber(Object v) {
    return isInt(v) || isFloat(v) || v instanceof Boolean;
  }

  /** int or bool, the operands of exact integer arithmetic. */
  static boolean isIntegral(Object v) {
    return isInt(v) || v instanceof Boolean;
  }

  static long toLong(Object v) {
    if (v instanceof Boolean b) {
      return b ? 1 : 0;
    }
    if (v instanceof BigInteger big) {
      try {
        return big.longValueExact();
      } catch (ArithmeticException e) {
        throw new TemplateException("integer too large: " + big);
      }
    }
    return ((Number) v).longValue();
  }

  static double toDouble(Object v) {
    return v instanceof Boolean b ? (b ? 1.0 : 0.0) : ((Number) v).doubleValue();
  }

  static boolean truthy(Object v) {
    if (v == null || v instanceof Undefined) {
      return false;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    if (isInt(v)) {
      return toLong(v) != 0;
    }
    if (isFloat(v)) {
      return toDouble(v) != 0.0;
    }
    if (v instanceof String s) {
      return !s.isEmpty();
    }
    if (v instanceof Collection<?> c) {
      return !c.isEmpty();
    }
    if (v instanceof Map<?, ?> m) {
      return !m.isEmpty();
    }
    if (v instanceof PyIter it) {
      return !it.kind().sized || it.size() > 0;
    }
    return true;
  }

  static String typeName(Object v) {
    if (v == null) {
      return "NoneType";
    }
    if (v instanceof Boolean) {
      return "bool";
    }
    if (isInt(v)) {
      return "int";
    }
    if (isFloat(v)) {
      return "float";
    }
    if (v instanceof String) {
      return "str";
    }
    return containerTypeName(v);
  }

  private static String containerTypeName(Object v) {
    if (v instanceof Tuple) {
      return "tuple";
    }
    if (v instanceof PyRange) {
      return "range";
    }
    if (v instanceof List) {
      return "list";
    }
    if (v instanceof Map) {
      return "dict";
    }
    if (v instanceof PyIter it) {
      return it.kind().pyName;
    }
    if (v instanceof Undefined) {
      return "Undefined";
    }
    if (v instanceof Namespace) {
      return "Namespace";
    }
    if (v instanceof LoopContext) {
      return "LoopContext";
    }
    if (v instanceof Macro) {
      return "Macro";
    }
    if (v instanceof JCallable || v instanceof BoundMethod) {
      return "builtin_function_or_method";
    }
    return v.getClass().getSimpleName();
  }

  static boolean eq(Object a, Object b) {
    if (a == b) {
      return true;
    }
    if (a instanceof Undefined || b instanceof Undefined) {
      return a instanceof Undefined && b instanceof Undefined;
    }
    if (a == null || b == null) {
      return false;
    }
    if (isNumber(a) && isNumber(b)) {
      return isIntegral(a) && isIntegral(b) ? toLong(a) == toLong(b) : toDouble(a) == toDouble(b);
    }
    if (a instanceof List<?> la && b instanceof List<?> lb) {
      return sameSequenceType(a, b) && listEq(la, lb);
    }
    if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
      return mapEq(ma, mb);
    }
    return a.equals(b);
  }

  private static boolean sameSequenceType(Object a, Object b) {
    return (a instanceof Tuple) == (b instanceof Tuple) && (a instanceof PyRange) == (b instanceof PyRange);
  }

  private static boolean listEq(List<?> a, List<?> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (!eq(a.get(i), b.get(i))) {
        return false;
      }
    }
    return true;
  }

  private static boolean mapEq(Map<?, ?> a, Map<?, ?> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (Map.Entry<?, ?> e : a.entrySet()) {
      Object key = findKey(b, e.getKey());
      if (key == Scope.MISSING || !eq(e.getValue(), b.get(key))) {
        return false;
      }
    }
    return true;
  }

  /** Python refuses mutable dict keys; membership tests and dict literals raise rather than miss. */
  static void checkHashable(Object key) {
    boolean mutableList = key instanceof List && !(key instanceof Tuple) && !(key instanceof PyRange);
    if (key instanceof Map || key instanceof PyIter || mutableList) {
      throw new TemplateException("unhashable type: '" + typeName(key) + "'");
    }
  }

  /** The key of {@code map} equal to {@code key} in Python terms (1 == 1.0), or Scope.MISSING. */
  static Object findKey(Map<?, ?> map, Object key) {
    if (map.containsKey(key)) {
      return key;
    }
    if (isNumber(key) || key instanceof Tuple) {
      for (Object candidate : map.keySet()) {
        if (eq(candidate, key)) {
          return candidate;
        }
      }
    }
    return Scope.MISSING;
  }

  /** Python ordering for {@code <}, {@code >}, sort and max; {@code op} names the operator in errors. */
  static int compare(Object a, Object b, String op) {
    if (a instanceof Undefined u) {
      throw u.error();
    }
    if (b instanceof Undefined u) {
      throw u.error();
    }
    if (isNumber(a) && isNumber(b)) {
      if (isIntegral(a) && isIntegral(b)) {
        return Long.compare(toLong(a), toLong(b));
      }
      return Double.compare(toDouble(a), toDouble(b));
    }
    if (a instanceof String sa && b instanceof String sb) {
      return compareCodePoints(sa, sb);
    }
    if (a instanceof List<?> la && b instanceof List<?> lb && sameSequenceType(a, b) && !(a instanceof PyRange)) {
      for (int i = 0; i < Math.min(la.size(), lb.size()); i++) {
        if (!eq(la.get(i), lb.get(i))) {
          return compare(la.get(i), lb.get(i), op);
        }
      }
      return Integer.compare(la.size(), lb.size());
    }
    throw new TemplateException("'" + op + "' not supported between instances of '" + typeName(a)
        + "' and '" + typeName(b) + "'");
  }

  private static int compareCodePoints(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }

  /** The items a Python for loop would produce; undefined iterates as empty. */
  static List<Object> iterate(Object v) {
    if (v instanceof Undefined) {
      return new ArrayList<>();
    }
    if (v instanceof String s) {
      List<Object> chars = new ArrayList<>();
      s.codePoints().forEach(c -> chars.add(Character.toString(c)));
      return chars;
    }
    if (v instanceof Collection<?> c) {
      return new ArrayList<>(c);
    }
    if (v instanceof Map<?, ?> m) {
      return new ArrayList<>(m.keySet());
    }
    if (v instanceof PyIter it) {
      return it.drain();
    }
    throw new TemplateException("'" + typeName(v) + "' object is not iterable");
  }

  static long len(Object v) {
    if (v instanceof Undefined) {
      return 0;
    }
    if (v instanceof String s) {
      return PyStr.length(s);
    }
    if (v instanceof Collection<?> c) {
      return c.size();
    }
    if (v instanceof Map<?, ?> m) {
      return m.size();
    }
    if (v instanceof PyIter it) {
      return it.size();
    }
    throw new TemplateException("object of type '" + typeName(v) + "' has no len()");
  }

  /** Python's {@code item in container}. */
  static boolean contains(Object container, Object item) {
    if (container instanceof String s) {
      if (item instanceof Undefined u) {
        throw u.error();
      }
      if (!(item instanceof String sub)) {
        throw new TemplateException("'in <string>' requires string as left operand, not " + typeName(item));
      }
      return s.contains(sub);
    }
    if (container instanceof Map<?, ?> m) {
      checkHashable(item);
      return findKey(m, item) != Scope.MISSING;
    }
    if (container == null || !(container instanceof Collection || container instanceof PyIter
        || container instanceof Undefined)) {
      throw new TemplateException("argument of type '" + typeName(container) + "' is not iterable");
    }
    for (Object candidate : iterate(container)) {
      if (eq(candidate, item)) {
        return true;
      }
    }
    return false;
  }
}
