package org.rlhfnode.messages;

import org.apache.pekko.actor.typed.ActorRef;

/** Supervisor (or an operator tool) → any role: report your {@link RoleStatus} to {@code replyTo}. */
public record StatusQuery(ActorRef<RoleStatus> replyTo) implements ScorerCommand, TrainerCommand, RolloutCommand {

  /** Checks the reply address. */
  public StatusQuery {
    Checks.notNull(replyTo, "StatusQuery", "replyTo");
  }
}
