package org.rlhfnode.messages;

/**
 * Rollout engine → policy trainer and supervisor: weight version {@code version} ({@code totalBytes} of
 * payload) is now fully installed on {@code receiverId}, which samples only from it from here on.
 */
public record WeightVersionInstalled(long version, String receiverId, long totalBytes) implements WireMessage {

  /** Checks the fields. */
  public WeightVersionInstalled {
    Checks.nonNegative(version, "WeightVersionInstalled", "version");
    Checks.nonBlank(receiverId, "WeightVersionInstalled", "receiverId");
    Checks.nonNegative(totalBytes, "WeightVersionInstalled", "totalBytes");
  }
}
