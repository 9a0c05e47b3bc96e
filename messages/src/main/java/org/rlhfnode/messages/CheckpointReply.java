package org.rlhfnode.messages;

/** What a role answers to a {@link CheckpointRequest}. */
public sealed interface CheckpointReply extends WireMessage permits CheckpointSaved, CheckpointFailed {
  /** The checkpoint this answers. */
  String checkpointId();

  /** The role that answers ({@code "policy"}, {@code "critic"}, ...). */
  String role();
}
