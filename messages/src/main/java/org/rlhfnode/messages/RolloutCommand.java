package org.rlhfnode.messages;

/**
 * What a rollout engine accepts: {@link RolloutRequest} here, and the engine's own local commands
 * (installing weights). Not sealed, so that those and the engine's private messages share its mailbox type.
 */
public interface RolloutCommand extends WireMessage {}
