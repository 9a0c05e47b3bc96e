package org.rlhfnode.messages;

import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Supervisor → policy trainer: publish the trainer's current weights, which must be version
 * {@code version}, to the rollout engines {@code engines} (empty: every engine registered now), and
 * answer {@link WeightsSynced} once all of them have installed it (or {@link WeightsSynced#failed} with
 * the reason). A trainer that is training refuses: its weights are about to change.
 */
public record SyncWeights(long version, List<ActorRef<RolloutCommand>> engines, ActorRef<WeightsSynced> replyTo)
    implements TrainerCommand {

  /** Checks the fields and copies the engines. */
  public SyncWeights {
    Checks.nonNegative(version, "SyncWeights", "version");
    engines = List.copyOf(Checks.notNull(engines, "SyncWeights", "engines"));
    Checks.notNull(replyTo, "SyncWeights", "replyTo");
  }

  /** A sync of {@code version} to every registered engine. */
  public static SyncWeights toAll(long version, ActorRef<WeightsSynced> replyTo) {
    return new SyncWeights(version, List.of(), replyTo);
  }
}
