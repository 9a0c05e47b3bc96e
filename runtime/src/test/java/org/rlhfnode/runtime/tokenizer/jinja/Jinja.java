package org.rlhfnode.runtime.tokenizer.jinja;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test helpers: render a template with a few variables and a fixed clock. */
final class Jinja {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2024-07-26T10:15:30Z"), ZoneOffset.UTC);

  private Jinja() {}

  /** Renders {@code template} with variables given as alternating names and values. */
  static String render(String template, Object... namesAndValues) {
    return Template.compile(template).render(vars(namesAndValues), CLOCK);
  }

  static Map<String, Object> vars(Object... namesAndValues) {
    Map<String, Object> vars = new LinkedHashMap<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      vars.put((String) namesAndValues[i], namesAndValues[i + 1]);
    }
    return vars;
  }

  /** An insertion-ordered map, since Map.of has no order and templates print dicts in order. */
  static Map<String, Object> dict(Object... keysAndValues) {
    return vars(keysAndValues);
  }
}
