package org.rlhfnode.runtime.tokenizer.jinja;

import java.time.Clock;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The global functions a HuggingFace chat template can call: jinja2's {@code range}, {@code dict}
 * and {@code namespace}, plus HF's {@code raise_exception} and {@code strftime_now}.
 */
final class Globals {
  private Globals() {}

  static void install(Scope scope, Clock clock) {
    scope.set("range", new Builtin("range", Globals::range));
    scope.set("dict", new Builtin("dict", Globals::dict));
    scope.set("namespace", new Builtin("namespace", Globals::namespace));
    scope.set("raise_exception", new Builtin("raise_exception", args -> {
      Object message = args.bind("raise_exception()", "message")[0];
      throw new TemplateRaisedException(0, PyRepr.str(CallArgs.or(message, "")));
    }));
    scope.set("strftime_now", new Builtin("strftime_now", args -> {
      Object format = args.bind("strftime_now()", "format")[0];
      return Strftime.format(LocalDateTime.now(clock), StrMethods.text(format, "strftime_now()"));
    }));
    for (String name : List.of("lipsum", "cycler", "joiner")) {
      scope.set(name, new Builtin(name, args -> {
        throw new TemplateException("unsupported function '" + name + "'");
      }));
    }
  }

  private static Object range(CallArgs args) {
    if (!args.keywords().isEmpty()) {
      throw new TemplateException("range() takes no keyword arguments");
    }
    List<Object> p = args.positional();
    for (Object o : p) {
      if (!Py.isIntegral(o)) {
        throw new TemplateException("'" + Py.typeName(o) + "' object cannot be interpreted as an integer");
      }
    }
    switch (p.size()) {
      case 1:
        return new PyRange(0, Py.toLong(p.get(0)), 1);
      case 2:
        return new PyRange(Py.toLong(p.get(0)), Py.toLong(p.get(1)), 1);
      case 3:
        return new PyRange(Py.toLong(p.get(0)), Py.toLong(p.get(1)), Py.toLong(p.get(2)));
      default:
        throw new TemplateException("range expected 1 to 3 arguments, got " + p.size());
    }
  }

  /** Python's dict(mapping_or_pairs, **kwargs). */
  private static Object dict(CallArgs args) {
    Map<Object, Object> out = new LinkedHashMap<>();
    if (args.positional().size() > 1) {
      throw new TemplateException("dict expected at most 1 argument, got " + args.positional().size());
    }
    if (!args.positional().isEmpty()) {
      Object source = args.positional().get(0);
      if (source instanceof Map<?, ?> m) {
        out.putAll(m);
      } else {
        for (Object pair : Py.iterate(source)) {
          List<Object> kv = Py.iterate(pair);
          if (kv.size() != 2) {
            throw new TemplateException("dictionary update sequence element has length " + kv.size() + "; 2 is required");
          }
          out.put(kv.get(0), kv.get(1));
        }
      }
    }
    out.putAll(args.keywords());
    return out;
  }

  private static Object namespace(CallArgs args) {
    Namespace ns = new Namespace();
    ((Map<?, ?>) dict(args)).forEach((k, v) -> ns.set(PyRepr.str(k), v));
    return ns;
  }
}
