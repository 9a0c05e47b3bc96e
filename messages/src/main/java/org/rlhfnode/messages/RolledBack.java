package org.rlhfnode.messages;

/** Rollout engine → supervisor: {@link RollBack} {@code requestId} is in effect; {@code engine} names it. */
public record RolledBack(RequestId requestId, String engine, long version) implements WireMessage {

  /** Checks the fields. */
  public RolledBack {
    Checks.notNull(requestId, "RolledBack", "requestId");
    Checks.nonBlank(engine, "RolledBack", "engine");
    Checks.nonNegative(version, "RolledBack", "version");
  }
}
