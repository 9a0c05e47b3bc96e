package org.rlhfnode.messages;

/**
 * What a scoring role (reference, reward) accepts over the wire: {@link ScoreRequest} and
 * {@link StatusQuery}. Sealed, so the protocol is closed; a role's own messages (a finished forward
 * pass) implement {@link Local} and never cross the wire.
 */
public sealed interface ScorerCommand extends WireMessage permits ScoreRequest, StatusQuery, ScorerCommand.Local {

  /** A scoring role's private message; local to its JVM. */
  non-sealed interface Local extends ScorerCommand {}
}
