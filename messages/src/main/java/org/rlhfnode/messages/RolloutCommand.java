package org.rlhfnode.messages;

/**
 * What a rollout engine accepts over the wire: {@link RolloutRequest}, {@link RollBack} and
 * {@link StatusQuery}. Sealed, so the protocol is closed; the engine's local commands (installing weights
 * from a directory or a received payload) and private messages implement {@link Local}.
 */
public sealed interface RolloutCommand extends WireMessage
    permits RolloutRequest, RollBack, StatusQuery, RolloutCommand.Local {

  /** A rollout engine's local or private message; never crosses the wire. */
  non-sealed interface Local extends RolloutCommand {}
}
