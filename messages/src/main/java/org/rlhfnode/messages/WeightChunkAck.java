package org.rlhfnode.messages;

/**
 * Rollout engine → policy trainer: the answer to one {@link WeightChunk} of version {@code version}.
 * Anything but {@link Status#ACCEPTED} asks the sender to resend the chunk ({@code CHECKSUM_MISMATCH},
 * {@code MALFORMED}) or to stop sending a version the receiver has already moved past ({@code STALE_VERSION}).
 */
public record WeightChunkAck(long version, int index, String receiverId, Status status) implements WireMessage {

  /** Outcome of receiving a chunk. */
  public enum Status {
    /** Checksum valid, bytes staged. */
    ACCEPTED,
    /** The CRC32C of the bytes did not match; resend. */
    CHECKSUM_MISMATCH,
    /** Offset, size or total disagree with the version's other chunks or its {@link WeightUpdate}; resend. */
    MALFORMED,
    /** The receiver has installed or is installing a newer version; stop sending this one. */
    STALE_VERSION
  }

  /** Checks the fields. */
  public WeightChunkAck {
    Checks.nonNegative(version, "WeightChunkAck", "version");
    Checks.nonNegative(index, "WeightChunkAck", "index");
    Checks.nonBlank(receiverId, "WeightChunkAck", "receiverId");
    Checks.notNull(status, "WeightChunkAck", "status");
  }

  /** Whether the chunk was accepted. */
  public boolean accepted() {
    return status == Status.ACCEPTED;
  }
}
