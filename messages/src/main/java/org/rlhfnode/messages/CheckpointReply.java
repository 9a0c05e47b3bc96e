package org.rlhfnode.messages;

/** What a role answers to a {@link CheckpointRequest}. */
public sealed interface CheckpointReply extends WireMessage permits CheckpointSaved, CheckpointFailed {
  /** The checkpoint this answers. */
  RequestId checkpointId();

  /** The role that answers. */
  Role role();
}
