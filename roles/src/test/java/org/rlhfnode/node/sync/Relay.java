package org.rlhfnode.node.sync;

import java.nio.ByteBuffer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.rlhfnode.messages.WeightChunk;
import org.rlhfnode.messages.WeightSyncMessage;

/**
 * Stands between a publisher and a real receiver and forwards everything, except that it can corrupt the
 * first copy of one chunk (one byte flipped, checksum kept) and hold back the first copy of the last chunk
 * until it is told {@link Release}. It reports each chunk as {@code "chunk i"} and a hold as {@code "held i"}.
 */
final class Relay {
  /** Forward the held chunk and everything after it. */
  record Release() implements WeightSyncMessage {}

  private Relay() {}

  /** Corrupts the first copy of chunk {@code corruptIndex} (−1 = none); holds the last chunk if {@code holdLast}. */
  static Behavior<WeightSyncMessage> create(ActorRef<WeightSyncMessage> target, int corruptIndex, boolean holdLast,
      ActorRef<String> events) {
    return Behaviors.setup(ctx -> forwarding(target, corruptIndex, holdLast, events, null));
  }

  private static Behavior<WeightSyncMessage> forwarding(ActorRef<WeightSyncMessage> target, int corruptIndex,
      boolean holdLast, ActorRef<String> events, WeightChunk held) {
    return Behaviors.receiveMessage(m -> {
      if (m instanceof Release) {
        if (held != null) {
          target.tell(held);
        }
        return forwarding(target, -1, false, events, null);
      }
      if (!(m instanceof WeightChunk c)) {
        target.tell(m);
        return Behaviors.same();
      }
      events.tell("chunk " + c.index());
      if (holdLast && c.index() == c.total() - 1) {
        events.tell("held " + c.index());
        return forwarding(target, corruptIndex, false, events, c);
      }
      if (c.index() == corruptIndex) {
        target.tell(corrupted(c));
        return forwarding(target, -1, holdLast, events, held);
      }
      target.tell(c);
      return Behaviors.same();
    });
  }

  private static WeightChunk corrupted(WeightChunk c) {
    ByteBuffer bytes = ByteBuffer.allocate(c.byteCount()).put(c.bytes());
    bytes.put(0, (byte) (bytes.get(0) ^ 0x5A));
    return new WeightChunk(c.version(), c.index(), c.total(), c.offset(), c.totalBytes(), c.checksum(),
        bytes.flip(), c.replyTo());
  }
}
