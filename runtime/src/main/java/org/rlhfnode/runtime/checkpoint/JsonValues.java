package org.rlhfnode.runtime.checkpoint;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Deep, immutable copies of JSON-able values in one canonical form, so that a value saved and read
 * back equals the original: integers become {@link Long}, other numbers {@link Double}, lists and
 * maps unmodifiable copies (maps keep their order). Anything else is rejected with the path to it.
 */
final class JsonValues {
  private JsonValues() {}

  /** A canonical copy of a map of JSON values; {@code what} names it in errors. */
  static Map<String, Object> map(Map<String, ?> in, String what) {
    if (in == null) {
      throw new NullPointerException(what);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<String, ?> e : in.entrySet()) {
      if (e.getKey() == null) {
        throw new IllegalArgumentException(what + ": null key");
      }
      out.put(e.getKey(), value(e.getValue(), what + "." + e.getKey()));
    }
    return Collections.unmodifiableMap(out);
  }

  /** Like {@link #map} but every value must be a scalar: null, a string, a number or a boolean. */
  static Map<String, Object> scalarMap(Map<String, ?> in, String what) {
    Map<String, Object> out = map(in, what);
    out.forEach((k, v) -> {
      if (v instanceof Map || v instanceof List) {
        throw new IllegalArgumentException(what + "." + k + ": must be a string, number, boolean or null");
      }
    });
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Object value(Object v, String path) {
    if (v == null || v instanceof String || v instanceof Boolean) {
      return v;
    }
    if (v instanceof Number) {
      return number((Number) v, path);
    }
    if (v instanceof Map) {
      for (Object k : ((Map<?, ?>) v).keySet()) {
        if (!(k instanceof String)) {
          throw new IllegalArgumentException(path + ": map key " + k + " is not a string");
        }
      }
      return map((Map<String, ?>) v, path);
    }
    if (v instanceof List) {
      List<Object> out = new ArrayList<>();
      List<?> list = (List<?>) v;
      for (int i = 0; i < list.size(); i++) {
        out.add(value(list.get(i), path + "[" + i + "]"));
      }
      return Collections.unmodifiableList(out);
    }
    throw new IllegalArgumentException(path + ": " + v.getClass().getSimpleName()
        + " is not a JSON value (use strings, numbers, booleans, lists and maps)");
  }

  private static Object number(Number n, String path) {
    if (n instanceof Long || n instanceof Integer || n instanceof Short || n instanceof Byte) {
      return n.longValue();
    }
    if (n instanceof BigInteger) {
      try {
        return ((BigInteger) n).longValueExact();
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException(path + ": " + n + " does not fit in a long", e);
      }
    }
    double d = n.doubleValue();
    if (!Double.isFinite(d)) {
      throw new IllegalArgumentException(path + ": " + d + " cannot be stored in JSON");
    }
    return d;
  }
}
