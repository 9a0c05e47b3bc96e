package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Evaluated call arguments, bound to Python-style parameter lists by the callee. */
record CallArgs(List<Object> positional, Map<String, Object> keywords) {
  /** Marks a parameter the caller did not pass (distinct from an explicit None). */
  static final Object MISSING = new Object();

  static final CallArgs EMPTY = new CallArgs(List.of(), Map.of());

  static CallArgs of(Object... positional) {
    return new CallArgs(Arrays.asList(positional), Map.of());
  }

  /**
   * Binds positional then keyword arguments to {@code names}; unset slots hold {@link #MISSING}.
   * {@code what} names the callee in errors, e.g. {@code "filter 'indent'"}.
   */
  Object[] bind(String what, String... names) {
    if (positional.size() > names.length) {
      throw new TemplateException(what + " takes at most " + names.length + " argument(s), got " + positional.size());
    }
    Object[] out = new Object[names.length];
    Arrays.fill(out, MISSING);
    for (int i = 0; i < positional.size(); i++) {
      out[i] = positional.get(i);
    }
    for (Map.Entry<String, Object> kw : keywords.entrySet()) {
      int idx = Arrays.asList(names).indexOf(kw.getKey());
      if (idx < 0) {
        throw new TemplateException(what + " got an unexpected keyword argument '" + kw.getKey() + "'");
      }
      if (out[idx] != MISSING) {
        throw new TemplateException(what + " got multiple values for argument '" + kw.getKey() + "'");
      }
      out[idx] = kw.getValue();
    }
    return out;
  }

  static Object or(Object value, Object fallback) {
    return value == MISSING ? fallback : value;
  }
}
