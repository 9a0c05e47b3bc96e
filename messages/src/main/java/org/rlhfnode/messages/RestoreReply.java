package org.rlhfnode.messages;

/** What a stateful role answers to a {@link RestoreState}. */
public sealed interface RestoreReply extends WireMessage permits StateRestored, RestoreFailed {
  /** The request this answers. */
  RequestId requestId();

  /** The role that answers. */
  Role role();
}
