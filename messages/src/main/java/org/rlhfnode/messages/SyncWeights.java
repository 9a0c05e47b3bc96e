package org.rlhfnode.messages;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Supervisor → policy trainer: publish the trainer's current weights, which must be version
 * {@code version}, to every rollout engine, and answer {@link WeightsSynced} once all of them have
 * installed it (or {@link WeightsSynced#failed} with the reason).
 */
public record SyncWeights(long version, ActorRef<WeightsSynced> replyTo) implements TrainerCommand {

  /** Checks the fields. */
  public SyncWeights {
    Checks.nonNegative(version, "SyncWeights", "version");
    Checks.notNull(replyTo, "SyncWeights", "replyTo");
  }
}
