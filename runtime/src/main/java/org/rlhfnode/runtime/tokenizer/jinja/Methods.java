package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Python methods callable from templates on str, dict, list and tuple values. Mutating methods
 * ({@code list.append}, {@code dict.update}, ...) fail as they do in HuggingFace's
 * ImmutableSandboxedEnvironment, so a template that works here also works under transformers.
 */
final class Methods {
  private static final Set<String> UNSAFE = Set.of("append", "clear", "extend", "insert", "pop", "popitem",
      "remove", "reverse", "setdefault", "sort", "update");

  private Methods() {}

  static Object call(BoundMethod m, CallArgs args) {
    Object self = m.self();
    String name = m.name();
    if (self instanceof String s) {
      return StrMethods.call(s, name, args);
    }
    if (UNSAFE.contains(name) && (self instanceof List || self instanceof Map)) {
      throw new TemplateException("access to attribute '" + name + "' of '" + Py.typeName(self)
          + "' object is unsafe (HuggingFace renders chat templates in an immutable sandbox)");
    }
    if (self instanceof Map<?, ?> map) {
      return dictMethod(map, name, args);
    }
    if (self instanceof List<?> list) {
      return listMethod(list, name, args);
    }
    throw new TemplateException("unsupported method '" + name + "' of '" + Py.typeName(self) + "' object");
  }

  private static Object dictMethod(Map<?, ?> map, String name, CallArgs args) {
    String what = "dict." + name + "()";
    switch (name) {
      case "get": {
        Object[] a = args.bind(what, "key", "default");
        if (a[0] == CallArgs.MISSING) {
          throw new TemplateException(what + " missing required argument 'key'");
        }
        Object key = Py.findKey(map, a[0]);
        return key != Scope.MISSING ? map.get(key) : CallArgs.or(a[1], null);
      }
      case "items": {
        args.bind(what);
        List<Object> items = new ArrayList<>();
        map.forEach((k, v) -> items.add(Tuple.of(k, v)));
        return new PyIter(PyIter.Kind.DICT_ITEMS, items);
      }
      case "keys":
        args.bind(what);
        return new PyIter(PyIter.Kind.DICT_KEYS, new ArrayList<>(map.keySet()));
      case "values":
        args.bind(what);
        return new PyIter(PyIter.Kind.DICT_VALUES, new ArrayList<>(map.values()));
      case "copy":
        args.bind(what);
        return new LinkedHashMap<>(map);
      default:
        throw new TemplateException("unsupported dict method '" + name + "'");
    }
  }

  private static Object listMethod(List<?> list, String name, CallArgs args) {
    String what = Py.typeName(list) + "." + name + "()";
    switch (name) {
      case "count": {
        Object item = args.bind(what, "value")[0];
        return list.stream().filter(x -> Py.eq(x, item)).count();
      }
      case "index": {
        Object item = args.bind(what, "value")[0];
        for (int i = 0; i < list.size(); i++) {
          if (Py.eq(list.get(i), item)) {
            return (long) i;
          }
        }
        throw new TemplateException(PyRepr.repr(item) + " is not in list");
      }
      case "copy":
        args.bind(what);
        return new ArrayList<>(list);
      default:
        throw new TemplateException("unsupported list method '" + name + "'");
    }
  }
}
