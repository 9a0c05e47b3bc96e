package org.rlhfnode.messages;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Supervisor → a stateful role (policy trainer, critic): write your part of checkpoint
 * {@code checkpointId} (iteration {@code iteration}, weight version {@code policyVersion}) under
 * {@code directory}, then answer {@link CheckpointSaved} or {@link CheckpointFailed}. The supervisor
 * marks the checkpoint complete only when every role has saved it.
 */
public record CheckpointRequest(String checkpointId, long iteration, long policyVersion, String directory,
    ActorRef<CheckpointReply> replyTo) implements TrainerCommand {

  /** Checks the fields. */
  public CheckpointRequest {
    Checks.nonBlank(checkpointId, "CheckpointRequest", "checkpointId");
    Checks.nonNegative(iteration, "CheckpointRequest", "iteration");
    Checks.nonNegative(policyVersion, "CheckpointRequest", "policyVersion");
    Checks.nonBlank(directory, "CheckpointRequest", "directory");
    Checks.notNull(replyTo, "CheckpointRequest", "replyTo");
  }
}
