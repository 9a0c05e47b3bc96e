package org.rlhfnode.messages;

import java.util.Comparator;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Policy trainer → rollout engines: weight version {@code version} is published. It describes the flat
 * payload ({@code totalBytes}, cut into {@code totalChunks} {@link WeightChunk}s, or moved by a
 * {@link CollectiveRendezvous}) and how to cut it into named tensors. A receiver stages the bytes, and
 * only when every chunk has arrived with a valid checksum does it swap the whole version in at once and
 * tell {@code replyTo} with {@link WeightVersionInstalled}; it never samples from a half-installed model.
 * {@code sha256} is the payload's digest ({@code PayloadDigest}: 64 lower-case hex digits): the authority on
 * what the bytes are. A receiver installs a payload only if its bytes hash to it, whichever transport
 * carried them, since this message travels over the (authenticated) cluster connection and the bytes may not.
 */
public record WeightUpdate(long version, long totalBytes, int totalChunks, List<TensorLayout> layout, String sha256,
    ActorRef<WeightVersionInstalled> replyTo) implements WeightSyncMessage {

  /** Checks the fields and that the tensors lie inside the payload without overlapping. */
  public WeightUpdate {
    Checks.nonNegative(version, "WeightUpdate", "version");
    Checks.nonNegative(totalBytes, "WeightUpdate", "totalBytes");
    Checks.positive(totalChunks, "WeightUpdate", "totalChunks");
    layout = List.copyOf(Checks.notNull(layout, "WeightUpdate", "layout"));
    checkLayout(layout, totalBytes);
    Checks.hex256(sha256, "WeightUpdate", "sha256", false);
    Checks.notNull(replyTo, "WeightUpdate", "replyTo");
  }

  private static void checkLayout(List<TensorLayout> layout, long totalBytes) {
    List<TensorLayout> byOffset = layout.stream().sorted(Comparator.comparingLong(TensorLayout::offset)).toList();
    long end = 0;
    String previous = null;
    for (TensorLayout t : byOffset) {
      if (t.offset() < end) {
        throw new IllegalArgumentException("WeightUpdate: tensor " + t.name() + " at " + t.offset()
            + " overlaps " + previous + " which ends at " + end);
      }
      end = t.end();
      previous = t.name();
    }
    if (end > totalBytes) {
      throw new IllegalArgumentException("WeightUpdate: tensor " + previous + " ends at " + end
          + ", past totalBytes " + totalBytes);
    }
  }
}
