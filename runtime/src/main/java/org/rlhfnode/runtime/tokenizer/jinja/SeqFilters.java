package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * jinja2's sequence filters. Those that return generators in jinja2 ({@code select}, {@code map},
 * {@code unique}, {@code batch}, {@code items}, {@code reverse}) return {@link PyIter}s here, so
 * that {@code |length} on them fails and a second pass sees nothing, exactly as under HuggingFace.
 */
final class SeqFilters {
  private SeqFilters() {}

  static void registerAll(Map<String, Filters.Filter> into) {
    into.put("length", SeqFilters::length);
    into.put("count", SeqFilters::length);
    into.put("list", (v, a) -> {
      a.bind("filter 'list'");
      return new ArrayList<>(Py.iterate(v));
    });
    into.put("first", SeqFilters::first);
    into.put("last", SeqFilters::last);
    into.put("join", SeqFilters::join);
    into.put("default", SeqFilters::defaultValue);
    into.put("d", SeqFilters::defaultValue);
    into.put("items", SeqFilters::items);
    into.put("dictsort", SeqFilters::dictsort);
    into.put("attr", (v, a) -> Access.pythonAttr(v, PyRepr.str(a.bind("filter 'attr'", "name")[0])));
    into.put("reverse", SeqFilters::reverse);
    into.put("batch", SeqFilters::batch);
    into.put("sum", SeqFilters::sum);
    into.put("map", SeqFilters::map);
    into.put("sort", SeqFilters::sort);
    into.put("unique", SeqFilters::unique);
    into.put("max", (v, a) -> extreme(v, a, "max"));
    into.put("min", (v, a) -> extreme(v, a, "min"));
    into.put("select", (v, a) -> selectOrReject(v, a, false, true));
    into.put("reject", (v, a) -> selectOrReject(v, a, false, false));
    into.put("selectattr", (v, a) -> selectOrReject(v, a, true, true));
    into.put("rejectattr", (v, a) -> selectOrReject(v, a, true, false));
  }

  private static Object length(Object v, CallArgs a) {
    a.bind("filter 'length'");
    return Py.len(v);
  }

  private static Object first(Object v, CallArgs a) {
    a.bind("filter 'first'");
    if (v instanceof PyIter it && !it.kind().sized) {
      return it.hasNext() ? it.nextItem() : Undefined.because("No first item, sequence was empty.");
    }
    List<Object> items = Py.iterate(v);
    return items.isEmpty() ? Undefined.because("No first item, sequence was empty.") : items.get(0);
  }

  private static Object last(Object v, CallArgs a) {
    a.bind("filter 'last'");
    if (v instanceof PyIter it && !it.kind().sized) {
      throw new TemplateException("'" + it.kind().pyName + "' object is not reversible");
    }
    List<Object> items = Py.iterate(v);
    return items.isEmpty() ? Undefined.because("No last item, sequence was empty.") : items.get(items.size() - 1);
  }

  private static Object join(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'join'", "d", "attribute");
    String separator = PyRepr.str(CallArgs.or(p[0], ""));
    Function<Object, Object> getter = attrGetter(p[1], null);
    StringBuilder sb = new StringBuilder();
    List<Object> items = Py.iterate(v);
    for (int i = 0; i < items.size(); i++) {
      sb.append(i > 0 ? separator : "").append(PyRepr.str(getter.apply(items.get(i))));
    }
    return sb.toString();
  }

  private static Object defaultValue(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'default'", "default_value", "boolean");
    boolean useIfFalsy = Py.truthy(CallArgs.or(p[1], false));
    boolean replace = v instanceof Undefined || (useIfFalsy && !Py.truthy(v));
    return replace ? CallArgs.or(p[0], "") : v;
  }

  private static Object items(Object v, CallArgs a) {
    a.bind("filter 'items'");
    if (v instanceof Undefined) {
      return PyIter.generator(List.of());
    }
    if (!(v instanceof Map<?, ?> map)) {
      throw new TemplateException("Can only get item pairs from a mapping.");
    }
    List<Object> out = new ArrayList<>();
    map.forEach((k, val) -> out.add(Tuple.of(k, val)));
    return PyIter.generator(out);
  }

  private static Object dictsort(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'dictsort'", "case_sensitive", "by", "reverse");
    boolean caseSensitive = Py.truthy(CallArgs.or(p[0], false));
    Object by = CallArgs.or(p[1], "key");
    if (!"key".equals(by) && !"value".equals(by)) {
      throw new TemplateException("You can only sort by either \"key\" or \"value\"");
    }
    if (!(v instanceof Map<?, ?> map)) {
      throw new TemplateException("filter 'dictsort' needs a mapping, got " + Py.typeName(v));
    }
    List<Object> out = new ArrayList<>();
    map.forEach((k, val) -> out.add(Tuple.of(k, val)));
    int pos = "key".equals(by) ? 0 : 1;
    Function<Object, Object> key = item -> sortKey(((Tuple) item).get(pos), caseSensitive);
    out.sort(comparing(key));
    if (Py.truthy(CallArgs.or(p[2], false))) {
      Collections.reverse(out);
    }
    return out;
  }

  private static Object reverse(Object v, CallArgs a) {
    a.bind("filter 'reverse'");
    if (v instanceof String s) {
      return new StringBuilder(s).reverse().toString();
    }
    boolean reversible = v instanceof List || v instanceof Map || (v instanceof PyIter it && it.kind().sized);
    List<Object> items = Py.iterate(v);
    Collections.reverse(items);
    return reversible ? new PyIter(PyIter.Kind.REVERSE_ITERATOR, items) : items;
  }

  private static Object batch(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'batch'", "linecount", "fill_with");
    int size = (int) Py.toLong(p[0]);
    if (size <= 0) {
      throw new TemplateException("filter 'batch' needs a positive line count");
    }
    List<Object> out = new ArrayList<>();
    List<Object> items = Py.iterate(v);
    for (int i = 0; i < items.size(); i += size) {
      List<Object> chunk = new ArrayList<>(items.subList(i, Math.min(items.size(), i + size)));
      while (p[1] != CallArgs.MISSING && p[1] != null && chunk.size() < size) {
        chunk.add(p[1]);
      }
      out.add(chunk);
    }
    return PyIter.generator(out);
  }

  private static Object sum(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'sum'", "attribute", "start");
    Function<Object, Object> getter = attrGetter(p[0], null);
    Object total = CallArgs.or(p[1], 0L);
    for (Object item : Py.iterate(v)) {
      total = PyOps.binary("+", total, getter.apply(item));
    }
    return total;
  }

  private static Object map(Object v, CallArgs a) {
    if (!Py.truthy(v)) {
      // jinja2 checks truthiness before anything else, so none|map(...) is an empty generator.
      return PyIter.generator(List.of());
    }
    Function<Object, Object> f;
    if (a.positional().isEmpty() && a.keywords().containsKey("attribute")) {
      Object[] p = a.bind("filter 'map'", "attribute", "default");
      f = attrGetter(p[0], CallArgs.or(p[1], null));
    } else if (a.positional().isEmpty()) {
      throw new TemplateException("map requires a filter argument");
    } else {
      String name = PyRepr.str(a.positional().get(0));
      CallArgs rest = new CallArgs(a.positional().subList(1, a.positional().size()), a.keywords());
      f = item -> Filters.apply(name, item, rest);
    }
    List<Object> out = new ArrayList<>();
    for (Object item : Py.iterate(v)) {
      out.add(f.apply(item));
    }
    return PyIter.generator(out);
  }

  private static Object sort(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'sort'", "reverse", "case_sensitive", "attribute");
    boolean caseSensitive = Py.truthy(CallArgs.or(p[1], false));
    Function<Object, Object> getter = attrGetter(p[2], null);
    List<Object> items = Py.iterate(v);
    Comparator<Object> order = comparing(item -> sortKey(getter.apply(item), caseSensitive));
    items.sort(Py.truthy(CallArgs.or(p[0], false)) ? order.reversed() : order);
    return items;
  }

  private static Object unique(Object v, CallArgs a) {
    Object[] p = a.bind("filter 'unique'", "case_sensitive", "attribute");
    boolean caseSensitive = Py.truthy(CallArgs.or(p[0], false));
    Function<Object, Object> getter = attrGetter(p[1], null);
    List<Object> seen = new ArrayList<>();
    List<Object> out = new ArrayList<>();
    for (Object item : Py.iterate(v)) {
      Object key = sortKey(getter.apply(item), caseSensitive);
      if (seen.stream().noneMatch(s -> Py.eq(s, key))) {
        seen.add(key);
        out.add(item);
      }
    }
    return PyIter.generator(out);
  }

  private static Object extreme(Object v, CallArgs a, String which) {
    Object[] p = a.bind("filter '" + which + "'", "case_sensitive", "attribute");
    boolean caseSensitive = Py.truthy(CallArgs.or(p[0], false));
    Function<Object, Object> getter = attrGetter(p[1], null);
    List<Object> items = Py.iterate(v);
    if (items.isEmpty()) {
      return Undefined.because("No aggregated item, sequence was empty.");
    }
    Comparator<Object> order = comparing(item -> sortKey(getter.apply(item), caseSensitive));
    return which.equals("max") ? Collections.max(items, order) : Collections.min(items, order);
  }

  private static Object selectOrReject(Object v, CallArgs a, boolean byAttribute, boolean select) {
    if (!Py.truthy(v)) {
      return PyIter.generator(List.of());
    }
    List<Object> args = a.positional();
    int offset = byAttribute ? 1 : 0;
    if (byAttribute && args.isEmpty()) {
      throw new TemplateException("Missing parameter for attribute name");
    }
    Function<Object, Object> getter = byAttribute ? attrGetter(args.get(0), null) : Function.identity();
    String test = args.size() > offset ? PyRepr.str(args.get(offset)) : null;
    CallArgs testArgs = new CallArgs(args.subList(Math.min(args.size(), offset + 1), args.size()), a.keywords());
    List<Object> out = new ArrayList<>();
    for (Object item : Py.iterate(v)) {
      Object subject = getter.apply(item);
      boolean passed = test == null ? Py.truthy(subject) : Tests.apply(test, subject, testArgs);
      if (passed == select) {
        out.add(item);
      }
    }
    return PyIter.generator(out);
  }

  /** jinja2's make_attrgetter: a dotted path of item lookups, with an optional default for undefined. */
  private static Function<Object, Object> attrGetter(Object attribute, Object fallback) {
    if (attribute == CallArgs.MISSING || attribute == null) {
      return Function.identity();
    }
    String[] parts = PyRepr.str(attribute).split("\\.");
    return item -> {
      Object current = item;
      for (String part : parts) {
        Object key = part.chars().allMatch(Character::isDigit) && !part.isEmpty() ? (Object) Long.parseLong(part) : part;
        current = Access.getItem(current, key);
      }
      return fallback != null && current instanceof Undefined ? fallback : current;
    };
  }

  private static Object sortKey(Object value, boolean caseSensitive) {
    return !caseSensitive && value instanceof String s ? PyStr.lower(s) : value;
  }

  private static Comparator<Object> comparing(Function<Object, Object> key) {
    return (x, y) -> Py.compare(key.apply(x), key.apply(y), "<");
  }
}
