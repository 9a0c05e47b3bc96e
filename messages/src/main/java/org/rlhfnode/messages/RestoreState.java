package org.rlhfnode.messages;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Supervisor → a stateful role (policy trainer, critic): put your whole state (weights, optimizer,
 * update counters, weight version) back to the part {@code checkpoint} of a committed checkpoint, or,
 * when {@code checkpoint} is empty, to the run's initial state (the pretrained weights, a fresh
 * optimizer, version 0). Batches and steps received before are dropped. The role verifies the part's
 * manifest first. From now on the role belongs to run {@code runId}. Answered with
 * {@link StateRestored} or {@link RestoreFailed}. The same message serves a fresh start, a resumed
 * run, a restarted role and a rollback after another role was lost.
 */
public record RestoreState(RequestId requestId, String runId, String checkpoint, ActorRef<RestoreReply> replyTo)
    implements TrainerCommand {

  /** Checks the fields. */
  public RestoreState {
    Checks.notNull(requestId, "RestoreState", "requestId");
    Checks.nonBlank(runId, "RestoreState", "runId");
    Checks.notNull(checkpoint, "RestoreState", "checkpoint");
    Checks.notNull(replyTo, "RestoreState", "replyTo");
  }

  /** Whether this restores the initial state rather than a checkpoint part. */
  public boolean initial() {
    return checkpoint.isEmpty();
  }
}
