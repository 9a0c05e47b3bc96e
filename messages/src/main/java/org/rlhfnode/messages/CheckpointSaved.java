package org.rlhfnode.messages;

/**
 * Role → supervisor: {@code role} wrote its part of checkpoint {@code checkpointId} (iteration
 * {@code iteration}, weight version {@code policyVersion}) to {@code path}, {@code bytes} in total,
 * durably (files synced, manifest last, renamed into place); {@code manifestSha256} is the SHA-256 of
 * the part's {@code manifest.json}, which the checkpoint's top manifest records (empty for an export,
 * which has no manifest).
 */
public record CheckpointSaved(RequestId checkpointId, Role role, long iteration, long policyVersion, String path,
    long bytes, String manifestSha256) implements CheckpointReply {

  /** Checks the fields. */
  public CheckpointSaved {
    Checks.notNull(checkpointId, "CheckpointSaved", "checkpointId");
    Checks.notNull(role, "CheckpointSaved", "role");
    Checks.nonNegative(iteration, "CheckpointSaved", "iteration");
    Checks.nonNegative(policyVersion, "CheckpointSaved", "policyVersion");
    Checks.nonBlank(path, "CheckpointSaved", "path");
    Checks.nonNegative(bytes, "CheckpointSaved", "bytes");
    if (manifestSha256 == null || !manifestSha256.matches("([0-9a-f]{64})?")) {
      throw new IllegalArgumentException("CheckpointSaved.manifestSha256 must be empty or 64 lower-case hex digits");
    }
  }
}
