package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.HashMap;
import java.util.Map;

/**
 * A frame of template variables. Loop iterations, macros and {@code with} blocks get child frames,
 * so assignments inside them do not leak out (which is why templates use {@code namespace}).
 */
final class Scope {
  static final Object MISSING = new Object();

  private final Scope parent;
  private final Map<String, Object> vars = new HashMap<>();

  Scope(Scope parent) {
    this.parent = parent;
  }

  Scope child() {
    return new Scope(this);
  }

  Object lookup(String name) {
    for (Scope s = this; s != null; s = s.parent) {
      if (s.vars.containsKey(name)) {
        return s.vars.get(name);
      }
    }
    return MISSING;
  }

  void set(String name, Object value) {
    vars.put(name, value);
  }
}
