package org.rlhfnode.runtime.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * One token sequence for a likelihood loss: ids x_0 … x_{L−1} and the loss mask in the shifted frame
 * of algorithms.md §1.2, so {@code lossMask[t]} says whether x_{t+1} is a target (§1.4). Used for
 * SFT, continued pretraining, and as the chosen/rejected/KTO sequences of the preference trainers.
 * The arrays are copied on construction; the accessors return them as stored, not to be modified.
 *
 * @param ids the L token ids
 * @param lossMask L − 1 flags; entry t belongs to token t + 1
 */
public record SftExample(long[] ids, boolean[] lossMask) {

  public SftExample {
    Objects.requireNonNull(ids, "ids");
    Objects.requireNonNull(lossMask, "lossMask");
    if (ids.length < 1) {
      throw new IllegalArgumentException("ids must hold at least one token");
    }
    if (lossMask.length != ids.length - 1) {
      throw new IllegalArgumentException("lossMask must have ids.length - 1 = " + (ids.length - 1)
          + " entries (shifted frame), got " + lossMask.length);
    }
    ids = ids.clone();
    lossMask = lossMask.clone();
  }

  /** The sequence prompt + response with every response token a target (prompt masked). */
  public static SftExample promptResponse(long[] prompt, long[] response) {
    long[] ids = new long[prompt.length + response.length];
    System.arraycopy(prompt, 0, ids, 0, prompt.length);
    System.arraycopy(response, 0, ids, prompt.length, response.length);
    boolean[] mask = new boolean[Math.max(0, ids.length - 1)];
    // mask[t] is token t + 1, so the first response token (index prompt.length) is entry prompt.length − 1.
    Arrays.fill(mask, Math.max(0, prompt.length - 1), mask.length, true);
    return new SftExample(ids, mask);
  }

  /** L, the number of tokens. */
  public int length() {
    return ids.length;
  }

  /** Number of target tokens, Σ m. */
  public int targetCount() {
    int n = 0;
    for (boolean m : lossMask) {
      n += m ? 1 : 0;
    }
    return n;
  }

  /** Indices t (shifted frame) whose mask is set, for tests and diagnostics. */
  public int[] targetPositions() {
    int[] out = new int[targetCount()];
    int k = 0;
    for (int t = 0; t < lossMask.length; t++) {
      if (lossMask[t]) {
        out[k++] = t;
      }
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SftExample e && Arrays.equals(ids, e.ids) && Arrays.equals(lossMask, e.lossMask);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(ids) + Arrays.hashCode(lossMask);
  }

  @Override
  public String toString() {
    return "SftExample[ids=" + Arrays.toString(ids) + ", targets=" + Arrays.toString(targetPositions()) + "]";
  }
}
