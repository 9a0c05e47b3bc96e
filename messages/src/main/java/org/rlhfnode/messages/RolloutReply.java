package org.rlhfnode.messages;

/** What a rollout engine answers to a {@link RolloutRequest}: the sequences, or a rejection. */
public sealed interface RolloutReply extends WireMessage permits GeneratedSequences, RolloutRejected {
  /** The request this answers. */
  RequestId requestId();
}
