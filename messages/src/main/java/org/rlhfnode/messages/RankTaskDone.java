package org.rlhfnode.messages;

/**
 * A trainer node's answer to a {@link RankCommand.Task}: {@code error} is empty when its ranks did their
 * share, else one line saying why not.
 */
public record RankTaskDone(long epoch, long seq, String error) implements WireMessage {
  public RankTaskDone {
    Checks.notNull(error, "RankTaskDone", "error");
  }

  public boolean ok() {
    return error.isEmpty();
  }
}
