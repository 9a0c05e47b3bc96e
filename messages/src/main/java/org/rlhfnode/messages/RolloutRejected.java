package org.rlhfnode.messages;

/**
 * Rollout engine → supervisor: the request was not served, e.g. because the engine's installed weight
 * version ({@code installedVersion}) is older than the one requested ({@code requestedVersion}), or a
 * weight install is in progress. The supervisor retries after the engine reports
 * {@link WeightVersionInstalled}.
 */
public record RolloutRejected(RequestId requestId, long requestedVersion, long installedVersion, String reason)
    implements RolloutReply {

  /** Checks the fields. */
  public RolloutRejected {
    Checks.notNull(requestId, "RolloutRejected", "requestId");
    Checks.nonNegative(requestedVersion, "RolloutRejected", "requestedVersion");
    Checks.nonBlank(reason, "RolloutRejected", "reason");
  }
}
