package org.rlhfnode.messages;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Supervisor → rollout engine, before the policy trainer publishes a restored weight version: stop
 * serving what is installed, accept {@code version} next even if the engine has seen newer versions
 * (those belonged to the iterations being redone), and serve only from that install on. The engine
 * belongs to run {@code runId} from now on. Answered with {@link RolledBack} at once.
 */
public record RollBack(RequestId requestId, String runId, long version, ActorRef<RolledBack> replyTo)
    implements RolloutCommand {

  /** Checks the fields. */
  public RollBack {
    Checks.notNull(requestId, "RollBack", "requestId");
    Checks.nonBlank(runId, "RollBack", "runId");
    Checks.nonNegative(version, "RollBack", "version");
    Checks.notNull(replyTo, "RollBack", "replyTo");
  }
}
