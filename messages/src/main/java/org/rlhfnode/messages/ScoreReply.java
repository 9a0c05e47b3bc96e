package org.rlhfnode.messages;

/** Answer to a {@link ScoreRequest}: the scores, or why there are none. */
public sealed interface ScoreReply extends WireMessage permits ScoredExperience, ScoreFailed {
  /** The request this answers. */
  RequestId requestId();

  /** Who answers (reference, reward, policy or critic). */
  Role scorer();
}
