package org.rlhfnode.runtime.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * One KTO example (algorithms.md §6): a prompt, a completion ending with EOS, and whether the
 * completion is desirable. Prompt + completion fits {@code max_len} (§1.7).
 *
 * @param promptIds x
 * @param completionIds y, ending with EOS
 * @param desirable the label: true for desirable, false for undesirable
 */
public record KtoExample(long[] promptIds, long[] completionIds, boolean desirable) {

  public KtoExample {
    promptIds = Objects.requireNonNull(promptIds, "promptIds").clone();
    completionIds = Objects.requireNonNull(completionIds, "completionIds").clone();
    if (completionIds.length == 0) {
      throw new IllegalArgumentException("completion must not be empty");
    }
  }

  /** prompt + completion with the completion tokens as targets. */
  public SftExample sequence() {
    return SftExample.promptResponse(promptIds, completionIds);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KtoExample k && Arrays.equals(promptIds, k.promptIds)
        && Arrays.equals(completionIds, k.completionIds) && desirable == k.desirable;
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(promptIds), Arrays.hashCode(completionIds), desirable);
  }

  @Override
  public String toString() {
    return "KtoExample[prompt=" + Arrays.toString(promptIds) + ", completion=" + Arrays.toString(completionIds)
        + ", desirable=" + desirable + "]";
  }
}
