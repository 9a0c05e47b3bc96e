package org.rlhfnode.messages;

/** A {@link ScoreRequest} that could not be scored (bad ids, a failed forward pass); {@code reason} says why. */
public record ScoreFailed(String requestId, String scorer, String reason) implements ScoreReply {

  /** Checks the fields. */
  public ScoreFailed {
    Checks.nonBlank(requestId, "ScoreFailed", "requestId");
    Checks.nonBlank(scorer, "ScoreFailed", "scorer");
    Checks.nonBlank(reason, "ScoreFailed", "reason");
  }
}
