package org.rlhfnode.runtime.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * A preference pair for the reward model (algorithms.md §4) and DPO/IPO/cDPO (§5): the shared prompt
 * and the two responses as token ids, already cut so that prompt + response fits {@code max_len}
 * and ends with EOS (§1.7), plus the per-pair margin μ (0 when the data has none).
 *
 * @param promptIds the prompt; empty when the responses carry the whole conversation (RM data
 *     without {@code prompt_key})
 * @param chosenIds the preferred response, ending with EOS
 * @param rejectedIds the dispreferred response, ending with EOS
 * @param margin μ of the margin loss
 */
public record PairExample(long[] promptIds, long[] chosenIds, long[] rejectedIds, double margin) {

  public PairExample {
    promptIds = Objects.requireNonNull(promptIds, "promptIds").clone();
    chosenIds = Objects.requireNonNull(chosenIds, "chosenIds").clone();
    rejectedIds = Objects.requireNonNull(rejectedIds, "rejectedIds").clone();
    if (chosenIds.length == 0 || rejectedIds.length == 0) {
      throw new IllegalArgumentException("chosen and rejected responses must not be empty");
    }
    if (!Double.isFinite(margin)) {
      throw new IllegalArgumentException("margin must be finite, got " + margin);
    }
  }

  /** prompt + chosen, with the chosen tokens as targets: the sequence whose score S(y_c|x) is summed. */
  public SftExample chosen() {
    return SftExample.promptResponse(promptIds, chosenIds);
  }

  /** prompt + rejected, with the rejected tokens as targets. */
  public SftExample rejected() {
    return SftExample.promptResponse(promptIds, rejectedIds);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PairExample p && Arrays.equals(promptIds, p.promptIds) && Arrays.equals(chosenIds, p.chosenIds)
        && Arrays.equals(rejectedIds, p.rejectedIds) && Double.compare(margin, p.margin) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(promptIds), Arrays.hashCode(chosenIds), Arrays.hashCode(rejectedIds), margin);
  }

  @Override
  public String toString() {
    return "PairExample[prompt=" + Arrays.toString(promptIds) + ", chosen=" + Arrays.toString(chosenIds)
        + ", rejected=" + Arrays.toString(rejectedIds) + ", margin=" + margin + "]";
  }
}
