package org.rlhfnode.runtime.generate;

/** One prompt (token ids, no padding) and how to continue it. */
public record GenerationRequest(long[] promptIds, SamplingParams params) {
  public GenerationRequest {
    if (promptIds == null || promptIds.length == 0) {
      throw new IllegalArgumentException("a prompt needs at least one token id");
    }
    promptIds = promptIds.clone();
  }

  @Override
  public long[] promptIds() {
    return promptIds.clone();
  }
}
