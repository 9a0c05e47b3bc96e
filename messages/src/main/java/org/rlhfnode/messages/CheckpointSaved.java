package org.rlhfnode.messages;

/**
 * Role → supervisor: {@code role} wrote its part of checkpoint {@code checkpointId} (iteration
 * {@code iteration}, weight version {@code policyVersion}) to {@code path}, {@code bytes} in total,
 * durably (files synced and renamed into place).
 */
public record CheckpointSaved(String checkpointId, String role, long iteration, long policyVersion, String path,
    long bytes) implements CheckpointReply {

  /** Checks the fields. */
  public CheckpointSaved {
    Checks.nonBlank(checkpointId, "CheckpointSaved", "checkpointId");
    Checks.nonBlank(role, "CheckpointSaved", "role");
    Checks.nonNegative(iteration, "CheckpointSaved", "iteration");
    Checks.nonNegative(policyVersion, "CheckpointSaved", "policyVersion");
    Checks.nonBlank(path, "CheckpointSaved", "path");
    Checks.nonNegative(bytes, "CheckpointSaved", "bytes");
  }
}
