package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/** jinja2's {@code namespace(...)}: the one object templates may assign attributes on. */
final class Namespace {
  private final Map<String, Object> attributes = new LinkedHashMap<>();

  Object get(String name) {
    return attributes.containsKey(name) ? attributes.get(name) : Undefined.attribute(this, name);
  }

  void set(String name, Object value) {
    attributes.put(name, value);
  }

  Map<String, Object> attributes() {
    return attributes;
  }
}
