package org.rlhfnode.messages;

/**
 * A trainer node's answer to a {@link RankCommand.Task}: {@code error} is empty when its ranks did their
 * share, else one line saying why not; {@code peerLost} says whether that failure only followed from
 * another rank of the group going away (a failed collective), rather than being the node's own.
 */
public record RankTaskDone(long epoch, long seq, String error, boolean peerLost) implements WireMessage {
  public RankTaskDone {
    Checks.notNull(error, "RankTaskDone", "error");
  }

  /** Success. */
  public static RankTaskDone done(long epoch, long seq) {
    return new RankTaskDone(epoch, seq, "", false);
  }

  public boolean ok() {
    return error.isEmpty();
  }
}
