package org.rlhfnode.node.sync;

import java.util.BitSet;
import org.rlhfnode.messages.WeightChunk;
import org.rlhfnode.messages.WeightChunkAck;
import org.rlhfnode.messages.WeightUpdate;
import org.rlhfnode.runtime.transport.PayloadBuffer;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * What a receiver holds of one weight version whose chunks are still coming: its {@link WeightUpdate}
 * (which may come after chunks) and the chunks received so far, written into one buffer. Chunks may
 * arrive in any order and more than once. Not thread-safe: used by one actor.
 */
final class ChunkStaging implements AutoCloseable {
  private final long version;
  private WeightUpdate update;
  private PayloadBuffer buffer; // allocated by the first chunk
  private int total = -1;
  private long totalBytes = -1;
  private BitSet received;
  private int count;

  ChunkStaging(long version) {
    this.version = version;
  }

  long version() {
    return version;
  }

  WeightUpdate update() {
    return update;
  }

  /**
   * Records the update; null if it agrees with the chunks staged so far, else why not (the staged chunks
   * are then dropped, since one of the two is wrong and the update describes the version).
   */
  String setUpdate(WeightUpdate u) {
    update = u;
    if (buffer != null && (u.totalChunks() != total || u.totalBytes() != totalBytes)) {
      String why = "update of version " + version + " says " + u.totalChunks() + " chunks / " + u.totalBytes()
          + " bytes, staged chunks say " + total + " / " + totalBytes;
      dropChunks();
      return why;
    }
    return null;
  }

  /** Whether any chunk is staged. */
  boolean hasChunks() {
    return buffer != null;
  }

  /** Checks and stages one chunk of this version. */
  WeightChunkAck.Status accept(WeightChunk c) {
    if (!c.checksumMatches()) {
      return WeightChunkAck.Status.CHECKSUM_MISMATCH;
    }
    boolean disagrees = (buffer != null && (c.total() != total || c.totalBytes() != totalBytes))
        || (update != null && (c.total() != update.totalChunks() || c.totalBytes() != update.totalBytes()));
    if (disagrees) {
      return WeightChunkAck.Status.MALFORMED;
    }
    if (buffer == null) {
      total = c.total();
      totalBytes = c.totalBytes();
      buffer = PayloadBuffer.allocate(totalBytes);
      received = new BitSet(total);
    }
    buffer.write(c.offset(), c.bytes());
    if (!received.get(c.index())) {
      received.set(c.index());
      count++;
    }
    return WeightChunkAck.Status.ACCEPTED;
  }

  /** Whether the update and every chunk it announces are here. */
  boolean chunksComplete() {
    return update != null && buffer != null && count == total;
  }

  /** The complete payload; the buffer now belongs to it (this staging is empty afterwards). */
  WeightPayload takePayload() {
    PayloadBuffer taken = buffer;
    buffer = null;
    try {
      return new WeightPayload(version, taken, ChunkPlan.entries(update.layout()));
    } catch (RuntimeException e) {
      taken.close();
      throw e;
    }
  }

  private void dropChunks() {
    if (buffer != null) {
      buffer.close();
    }
    buffer = null;
    received = null;
    count = 0;
    total = -1;
    totalBytes = -1;
  }

  /** Frees whatever is staged. */
  @Override
  public void close() {
    dropChunks();
  }
}
