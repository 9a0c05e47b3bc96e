package org.rlhfnode.messages;

/** A {@link ScoreRequest} that could not be scored (bad ids, a failed forward pass); {@code reason} says why. */
public record ScoreFailed(RequestId requestId, Role scorer, String reason) implements ScoreReply {

  /** Checks the fields. */
  public ScoreFailed {
    Checks.notNull(requestId, "ScoreFailed", "requestId");
    Checks.notNull(scorer, "ScoreFailed", "scorer");
    Checks.nonBlank(reason, "ScoreFailed", "reason");
  }
}
