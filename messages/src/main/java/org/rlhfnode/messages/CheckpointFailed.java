package org.rlhfnode.messages;

/** Role → supervisor: {@code role} could not write checkpoint {@code checkpointId}, for {@code reason}. */
public record CheckpointFailed(String checkpointId, String role, String reason) implements CheckpointReply {

  /** Checks the fields. */
  public CheckpointFailed {
    Checks.nonBlank(checkpointId, "CheckpointFailed", "checkpointId");
    Checks.nonBlank(role, "CheckpointFailed", "role");
    Checks.nonBlank(reason, "CheckpointFailed", "reason");
  }
}
