package org.rlhfnode.node.sync;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.zip.CRC32C;
import org.apache.pekko.actor.typed.ActorRef;
import org.rlhfnode.messages.FrameGuard;
import org.rlhfnode.messages.TensorLayout;
import org.rlhfnode.messages.WeightChunk;
import org.rlhfnode.messages.WeightChunkAck;
import org.rlhfnode.messages.WeightUpdate;
import org.rlhfnode.messages.WeightVersionInstalled;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * One version's payload as the Artery transport sends it: cut into chunks that fit the lane's frame, and
 * the {@link WeightUpdate} that describes it. Chunks are built on demand, so only the window in flight is
 * ever copied; a chunk's CRC32C is computed when it is first built (just before the copy, which then reads
 * the bytes from cache) and shared by every receiver and resend. Safe to use from several actors.
 */
final class ChunkPlan {
  private final WeightPayload payload;
  private final int chunkBytes;
  private final int total;
  private final AtomicLongArray checksums; // CRC32C of chunk i, unsigned 32-bit; UNKNOWN until first built

  private static final long UNKNOWN = -1;

  private ChunkPlan(WeightPayload payload, int chunkBytes, int total, AtomicLongArray checksums) {
    this.payload = payload;
    this.chunkBytes = chunkBytes;
    this.total = total;
    this.checksums = checksums;
  }

  /** Cuts {@code payload} into chunks {@code guard} lets through. */
  static ChunkPlan of(WeightPayload payload, FrameGuard guard) {
    int total = guard.chunkCount(payload.totalBytes());
    AtomicLongArray checksums = new AtomicLongArray(total);
    for (int i = 0; i < total; i++) {
      checksums.set(i, UNKNOWN);
    }
    return new ChunkPlan(payload, guard.maxChunkPayloadBytes(), total, checksums);
  }

  private static ByteBuffer slice(WeightPayload payload, int chunkBytes, int index) {
    long offset = (long) index * chunkBytes;
    return payload.buffer().read(offset, (int) Math.min(chunkBytes, payload.totalBytes() - offset));
  }

  long version() {
    return payload.version();
  }

  int total() {
    return total;
  }

  long totalBytes() {
    return payload.totalBytes();
  }

  /** Chunk {@code index}, acknowledged to {@code replyTo}; copies its bytes out of the payload. */
  WeightChunk chunk(int index, ActorRef<WeightChunkAck> replyTo) {
    ByteBuffer bytes = slice(payload, chunkBytes, index);
    long checksum = checksums.get(index);
    if (checksum == UNKNOWN) {
      CRC32C crc = new CRC32C();
      crc.update(bytes.duplicate());
      checksum = crc.getValue();
      checksums.set(index, checksum);
    }
    return new WeightChunk(payload.version(), index, total, (long) index * chunkBytes, payload.totalBytes(),
        checksum, bytes, replyTo);
  }

  /** The update announcing this plan's chunks. */
  WeightUpdate update(ActorRef<WeightVersionInstalled> replyTo) {
    return update(payload, total, replyTo);
  }

  /**
   * The update announcing {@code payload} moved in {@code totalChunks} parts (1 for a collective), with the
   * payload's digest (computed here on first use: call it first off the actor's thread).
   */
  static WeightUpdate update(WeightPayload payload, int totalChunks, ActorRef<WeightVersionInstalled> replyTo) {
    return new WeightUpdate(payload.version(), payload.totalBytes(), totalChunks, layout(payload), payload.digest(),
        replyTo);
  }

  /** The payload's entries as wire layouts. */
  static List<TensorLayout> layout(WeightPayload payload) {
    List<TensorLayout> out = new ArrayList<>(payload.entries().size());
    for (WeightPayload.Entry e : payload.entries()) {
      out.add(new TensorLayout(e.name(), e.dtype(), e.shape(), e.offset()));
    }
    return out;
  }

  /** Wire layouts as payload entries. */
  static List<WeightPayload.Entry> entries(List<TensorLayout> layout) {
    List<WeightPayload.Entry> out = new ArrayList<>(layout.size());
    for (TensorLayout t : layout) {
      out.add(new WeightPayload.Entry(t.name(), t.dtype(), t.shape(), t.offset()));
    }
    return out;
  }
}
