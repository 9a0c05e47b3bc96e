package org.rlhfnode.messages;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Policy trainer → rollout engine: bytes [{@code offset}, {@code offset} + length) of the flat payload of
 * weight version {@code version}, chunk {@code index} of {@code total}, with the CRC32C of those bytes
 * ({@code checksum}, unsigned 32-bit). Every chunk carries version, index, total, offset, the payload size
 * and {@code replyTo}, because Artery gives no ordering between its lanes: a chunk may arrive before its
 * {@link WeightUpdate}. The receiver checks {@link #checksumMatches()} and answers each chunk with a
 * {@link WeightChunkAck}; the sender keeps a bounded number of chunks in flight and resends on a
 * negative ack or a timeout. The bytes are copied on construction and read through read-only views.
 */
public record WeightChunk(long version, int index, int total, long offset, long totalBytes, long checksum,
    ByteBuffer bytes, ActorRef<WeightChunkAck> replyTo) implements TensorMessage, WeightSyncMessage {

  private static final long U32_MAX = 0xFFFF_FFFFL;

  /** Checks the fields and copies the bytes. The checksum is stored as given (see {@link #of}). */
  public WeightChunk {
    Checks.nonNegative(version, "WeightChunk", "version");
    Checks.positive(total, "WeightChunk", "total");
    if (index < 0 || index >= total) {
      throw new IllegalArgumentException("WeightChunk.index " + index + " is outside [0, " + total + ")");
    }
    Checks.nonNegative(offset, "WeightChunk", "offset");
    if (checksum < 0 || checksum > U32_MAX) {
      throw new IllegalArgumentException("WeightChunk.checksum " + checksum + " is not an unsigned 32-bit CRC");
    }
    bytes = Bytes.readOnlyCopy(bytes, "WeightChunk");
    if (Math.addExact(offset, bytes.capacity()) > totalBytes) {
      throw new IllegalArgumentException("WeightChunk " + index + ": bytes [" + offset + ", "
          + (offset + bytes.capacity()) + ") run past totalBytes " + totalBytes);
    }
    Checks.notNull(replyTo, "WeightChunk", "replyTo");
  }

  /** A chunk whose checksum is computed from {@code bytes}. */
  public static WeightChunk of(long version, int index, int total, long offset, long totalBytes, ByteBuffer bytes,
      ActorRef<WeightChunkAck> replyTo) {
    return new WeightChunk(version, index, total, offset, totalBytes, Bytes.crc32c(bytes), bytes, replyTo);
  }

  /**
   * The whole {@code payload} of a weight version cut into chunks that {@code guard} lets through its lane,
   * each with its checksum. An empty payload gives one empty chunk, so every transfer has something to ack.
   */
  public static List<WeightChunk> split(long version, ByteBuffer payload, FrameGuard guard,
      ActorRef<WeightChunkAck> replyTo) {
    List<ByteBuffer> parts = guard.split(payload);
    List<WeightChunk> chunks = new ArrayList<>(parts.size());
    long offset = 0;
    for (int i = 0; i < parts.size(); i++) {
      ByteBuffer part = parts.get(i);
      chunks.add(of(version, i, parts.size(), offset, payload.remaining(), part, replyTo));
      offset += part.remaining();
    }
    return List.copyOf(chunks);
  }

  /** A read-only little-endian view of the chunk's bytes, positioned at 0. */
  @Override
  public ByteBuffer bytes() {
    return Bytes.view(bytes);
  }

  /** Number of payload bytes in this chunk. */
  public int byteCount() {
    return bytes.capacity();
  }

  /** Whether the CRC32C of the bytes equals {@link #checksum()}; false means corruption on the way. */
  public boolean checksumMatches() {
    return Bytes.crc32c(bytes) == checksum;
  }

  /** The acknowledgement a receiver called {@code receiverId} sends after checking only the checksum. */
  public WeightChunkAck verify(String receiverId) {
    WeightChunkAck.Status status =
        checksumMatches() ? WeightChunkAck.Status.ACCEPTED : WeightChunkAck.Status.CHECKSUM_MISMATCH;
    return new WeightChunkAck(version, index, receiverId, status);
  }

  /** Version, position and size only; the bytes would flood a log. */
  @Override
  public String toString() {
    return "WeightChunk[v" + version + " " + index + "/" + total + " @" + offset + " " + bytes.capacity()
        + " bytes crc32c=" + Long.toHexString(checksum) + "]";
  }
}
