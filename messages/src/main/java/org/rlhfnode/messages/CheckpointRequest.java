package org.rlhfnode.messages;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Supervisor → a stateful role (policy trainer, critic): write your part of the checkpoint of iteration
 * {@code iteration} (weight version {@code policyVersion}) into {@code directory}, the checkpoint's
 * staging directory on the shared {@code ckpt_path}, as the sub-directory named after your role, with its
 * own manifest; then answer {@link CheckpointSaved} (with that manifest's SHA-256) or
 * {@link CheckpointFailed}. The supervisor commits the checkpoint only when every part has been saved.
 * With {@code export} the role instead writes its model as a HuggingFace directory
 * {@code directory/<role>} (the run's final {@code policy/} and {@code critic/}), and answers with an
 * empty manifest SHA.
 */
public record CheckpointRequest(RequestId checkpointId, long iteration, long policyVersion, String directory,
    boolean export, ActorRef<CheckpointReply> replyTo) implements TrainerCommand {

  /** Checks the fields. */
  public CheckpointRequest {
    Checks.notNull(checkpointId, "CheckpointRequest", "checkpointId");
    Checks.nonNegative(iteration, "CheckpointRequest", "iteration");
    Checks.nonNegative(policyVersion, "CheckpointRequest", "policyVersion");
    Checks.nonBlank(directory, "CheckpointRequest", "directory");
    Checks.notNull(replyTo, "CheckpointRequest", "replyTo");
  }
}
