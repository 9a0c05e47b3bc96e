package org.rlhfnode.messages;

/**
 * Role → supervisor: {@code role} is back at the state of {@code checkpoint} (empty: the initial
 * state) and holds weight version {@code policyVersion}.
 */
public record StateRestored(RequestId requestId, Role role, long policyVersion, String checkpoint)
    implements RestoreReply {

  /** Checks the fields. */
  public StateRestored {
    Checks.notNull(requestId, "StateRestored", "requestId");
    Checks.notNull(role, "StateRestored", "role");
    Checks.nonNegative(policyVersion, "StateRestored", "policyVersion");
    Checks.notNull(checkpoint, "StateRestored", "checkpoint");
  }
}
