package org.rlhfnode.messages;

/**
 * What a scoring role (reference, reward) accepts: {@link ScoreRequest} and {@link StatusQuery}. Not
 * sealed, so that a role's private messages (a finished forward pass) can share its mailbox type; those
 * never cross the wire.
 */
public interface ScorerCommand extends WireMessage {}
