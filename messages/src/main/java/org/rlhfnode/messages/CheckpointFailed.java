package org.rlhfnode.messages;

/** Role → supervisor: {@code role} could not write its part of checkpoint {@code checkpointId}, for {@code reason}. */
public record CheckpointFailed(RequestId checkpointId, Role role, String reason) implements CheckpointReply {

  /** Checks the fields. */
  public CheckpointFailed {
    Checks.notNull(checkpointId, "CheckpointFailed", "checkpointId");
    Checks.notNull(role, "CheckpointFailed", "role");
    Checks.nonBlank(reason, "CheckpointFailed", "reason");
  }
}
