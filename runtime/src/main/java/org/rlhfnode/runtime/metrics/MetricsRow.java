package org.rlhfnode.runtime.metrics;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One line of {@code metrics.jsonl} as read back: the step and every numeric metric logged with it,
 * in file order. A metric written as {@code null} (it was NaN or infinite) reads as {@link Double#NaN}.
 *
 * @param step the optimizer step the metrics belong to
 * @param values metric name to value, excluding {@code step}; unmodifiable
 */
public record MetricsRow(long step, Map<String, Double> values) {
  public MetricsRow {
    values = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(values, "values")));
  }

  /** The value of {@code name}, or NaN when the row does not have it. */
  public double get(String name) {
    Double v = values.get(name);
    return v == null ? Double.NaN : v;
  }
}
