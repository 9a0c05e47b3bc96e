package org.rlhfnode.messages;

import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Supervisor → rollout engine: generate {@code sampling.samplesPerPrompt()} responses for each prompt
 * (token ids, already templated and truncated). {@code policyVersion} is the weight version the supervisor
 * expects the samples to come from; an engine whose installed version is older than
 * {@code policyVersion} answers {@link RolloutRejected} instead of sampling from stale weights. The answer
 * is a {@link GeneratedSequences} with the same {@code requestId}.
 */
public record RolloutRequest(RequestId requestId, List<List<Integer>> prompts, SamplingParams sampling,
    long policyVersion, ActorRef<RolloutReply> replyTo) implements RolloutCommand {

  /** Checks the fields and copies the prompts deeply. */
  public RolloutRequest {
    Checks.notNull(requestId, "RolloutRequest", "requestId");
    Checks.notNull(prompts, "RolloutRequest", "prompts");
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("RolloutRequest.prompts must not be empty");
    }
    prompts = prompts.stream().map(p -> {
      if (p == null || p.isEmpty()) {
        throw new IllegalArgumentException("RolloutRequest.prompts holds an empty or null prompt");
      }
      return List.copyOf(p);
    }).toList();
    Checks.notNull(sampling, "RolloutRequest", "sampling");
    Checks.nonNegative(policyVersion, "RolloutRequest", "policyVersion");
    Checks.notNull(replyTo, "RolloutRequest", "replyTo");
  }

  /** Number of sequences the answer will hold: prompts × samples per prompt. */
  public int expectedSequences() {
    return Math.multiplyExact(prompts.size(), sampling.samplesPerPrompt());
  }
}
