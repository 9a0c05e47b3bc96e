package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Attribute, item and slice access with jinja2's rules: {@code x.name} tries the Python attribute
 * (a method such as {@code dict.items}) before the dict key, {@code x['name']} tries the key first;
 * a miss yields {@link Undefined}, while any access on an undefined value is an error.
 */
final class Access {
  static final Set<String> STR_METHODS = Set.of("capitalize", "casefold", "center", "count", "encode",
      "endswith", "expandtabs", "find", "format", "format_map", "index", "isalnum", "isalpha", "isascii",
      "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle",
      "isupper", "join", "ljust", "lower", "lstrip", "maketrans", "partition", "removeprefix", "removesuffix",
      "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
      "startswith", "strip", "swapcase", "title", "translate", "upper", "zfill");
  static final Set<String> DICT_METHODS = Set.of("clear", "copy", "fromkeys", "get", "items", "keys", "pop",
      "popitem", "setdefault", "update", "values");
  static final Set<String> LIST_METHODS = Set.of("append", "clear", "copy", "count", "extend", "index",
      "insert", "pop", "remove", "reverse", "sort");
  static final Set<String> TUPLE_METHODS = Set.of("count", "index");

  private Access() {}

  static Object getAttr(Object obj, String name) {
    if (obj instanceof Undefined u) {
      throw u.error();
    }
    if (obj instanceof Map<?, ?> map) {
      if (DICT_METHODS.contains(name)) {
        return new BoundMethod(obj, name);
      }
      return map.containsKey(name) ? map.get(name) : Undefined.attribute(obj, name);
    }
    return pythonAttr(obj, name);
  }

  /** The Python attribute only (no dict-key fallback), as the {@code attr} filter sees it. */
  static Object pythonAttr(Object obj, String name) {
    if (obj instanceof Undefined u) {
      throw u.error();
    }
    if (obj instanceof Namespace ns) {
      return ns.get(name);
    }
    if (obj instanceof LoopContext loop) {
      return loop.attr(name);
    }
    if (hasMethod(obj, name)) {
      return new BoundMethod(obj, name);
    }
    if (Py.isNumber(obj) && (name.equals("real") || name.equals("imag"))) {
      boolean real = name.equals("real");
      return Py.isFloat(obj) ? (Object) (real ? Py.toDouble(obj) : 0.0) : (Object) (real ? Py.toLong(obj) : 0L);
    }
    return Undefined.attribute(obj, name);
  }

  private static boolean hasMethod(Object obj, String name) {
    if (obj instanceof String) {
      return STR_METHODS.contains(name);
    }
    if (obj instanceof Map) {
      return DICT_METHODS.contains(name);
    }
    if (obj instanceof Tuple || obj instanceof PyRange) {
      return TUPLE_METHODS.contains(name);
    }
    return obj instanceof List && LIST_METHODS.contains(name);
  }

  static Object getItem(Object obj, Object key) {
    if (obj instanceof Undefined u) {
      throw u.error();
    }
    if (key instanceof Undefined u) {
      throw u.error();
    }
    if (obj instanceof Map<?, ?> map) {
      Object found = Py.findKey(map, key);
      if (found != Scope.MISSING) {
        return map.get(found);
      }
    } else if ((obj instanceof List || obj instanceof String) && Py.isIntegral(key)) {
      return index(obj, Py.toLong(key));
    }
    return key instanceof String name ? pythonAttr(obj, name) : Undefined.attribute(obj, key);
  }

  private static Object index(Object seq, long i) {
    if (seq instanceof String s) {
      int[] cps = PyStr.codePoints(s);
      long at = i < 0 ? i + cps.length : i;
      return at < 0 || at >= cps.length ? Undefined.because("string index out of range")
          : Character.toString(cps[(int) at]);
    }
    List<?> list = (List<?>) seq;
    long at = i < 0 ? i + list.size() : i;
    return at < 0 || at >= list.size() ? Undefined.because("list index out of range") : list.get((int) at);
  }

  /** {@code obj[start:stop:step]} with Python's clamping; absent bounds are null. */
  static Object slice(Object obj, Object start, Object stop, Object step) {
    if (obj instanceof Undefined u) {
      throw u.error();
    }
    // jinja2 compiles slices to plain Python subscripts, so misuse raises instead of yielding undefined.
    if (obj instanceof Map) {
      throw new TemplateException("unhashable type: 'slice'");
    }
    if (!(obj instanceof List || obj instanceof String)) {
      throw new TemplateException("'" + Py.typeName(obj) + "' object is not subscriptable");
    }
    if (!sliceIndex(start) || !sliceIndex(stop) || !sliceIndex(step)) {
      throw new TemplateException("slice indices must be integers or None or have an __index__ method");
    }
    long stepValue = step == null ? 1 : Py.toLong(step);
    if (stepValue == 0) {
      throw new TemplateException("slice step cannot be zero");
    }
    if (obj instanceof String s) {
      int[] cps = PyStr.codePoints(s);
      StringBuilder sb = new StringBuilder();
      for (int i : sliceIndices(cps.length, start, stop, stepValue)) {
        sb.appendCodePoint(cps[i]);
      }
      return sb.toString();
    }
    List<?> list = (List<?>) obj;
    List<Object> out = new ArrayList<>();
    for (int i : sliceIndices(list.size(), start, stop, stepValue)) {
      out.add(list.get(i));
    }
    return obj instanceof Tuple ? new Tuple(out) : out;
  }

  private static boolean sliceIndex(Object v) {
    return v == null || Py.isIntegral(v);
  }

  private static List<Integer> sliceIndices(int length, Object start, Object stop, long step) {
    long lo;
    long hi;
    if (step > 0) {
      lo = start == null ? 0 : clamp(Py.toLong(start), length, 0, length);
      hi = stop == null ? length : clamp(Py.toLong(stop), length, 0, length);
    } else {
      lo = start == null ? length - 1 : clamp(Py.toLong(start), length, -1, length - 1);
      hi = stop == null ? -1 : clamp(Py.toLong(stop), length, -1, length - 1);
    }
    List<Integer> out = new ArrayList<>();
    for (long i = lo; step > 0 ? i < hi : i > hi; i += step) {
      out.add((int) i);
    }
    return out;
  }

  private static long clamp(long index, int length, long min, long max) {
    long i = index < 0 ? index + length : index;
    return Math.max(min, Math.min(max, i));
  }
}
