package org.rlhfnode.messages;

/** Answer to a {@link ScoreRequest}: the scores, or why there are none. */
public sealed interface ScoreReply extends WireMessage permits ScoredExperience, ScoreFailed {
  /** The request this answers. */
  String requestId();

  /** Who answers ({@code "reference"}, {@code "reward"}, {@code "policy"}, {@code "critic"}). */
  String scorer();
}
