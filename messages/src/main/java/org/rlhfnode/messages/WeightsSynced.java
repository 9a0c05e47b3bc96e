package org.rlhfnode.messages;

import java.util.List;

/**
 * Policy trainer → supervisor: weight version {@code version} ({@code totalBytes}) is installed on the
 * rollout engines {@code receivers}, moved by {@code transport} in {@code seconds}; or, when
 * {@code error} is not empty, it is not, and {@code error} says why.
 */
public record WeightsSynced(long version, List<String> receivers, long totalBytes, double seconds, String transport,
    String error) implements WireMessage {

  /** Checks the fields and copies the receivers. */
  public WeightsSynced {
    Checks.nonNegative(version, "WeightsSynced", "version");
    receivers = List.copyOf(Checks.notNull(receivers, "WeightsSynced", "receivers"));
    Checks.nonNegative(totalBytes, "WeightsSynced", "totalBytes");
    Checks.notNull(transport, "WeightsSynced", "transport");
    Checks.notNull(error, "WeightsSynced", "error");
  }

  /** A failed sync of {@code version}. */
  public static WeightsSynced failed(long version, String transport, String error) {
    return new WeightsSynced(version, List.of(), 0, 0, transport, error);
  }

  /** Whether every receiver installed the version. */
  public boolean ok() {
    return error.isEmpty();
  }
}
