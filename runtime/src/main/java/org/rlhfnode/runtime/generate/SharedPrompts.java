package org.rlhfnode.runtime.generate;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which requests of a generation call have the same prompt: the distinct prompts in order of first
 * appearance, and for each request the distinct prompt it has. The engine prefills the distinct prompts
 * only and copies their cache rows and first logits to the requests.
 */
final class SharedPrompts {
  private final int[] firsts; // request index of each distinct prompt's first appearance
  private final long[] rowOf; // [B] distinct prompt of each request

  private SharedPrompts(int[] firsts, long[] rowOf) {
    this.firsts = firsts;
    this.rowOf = rowOf;
  }

  /** The sharing of {@code requests}; with {@code share} false every request is its own prompt. */
  static SharedPrompts of(List<GenerationRequest> requests, boolean share) {
    int n = requests.size();
    long[] rowOf = new long[n];
    int[] firsts = new int[n];
    int distinct = 0;
    Map<Key, Integer> seen = new HashMap<>();
    for (int i = 0; i < n; i++) {
      Integer row = share ? seen.putIfAbsent(new Key(requests.get(i).promptIds()), distinct) : null;
      if (row == null) {
        firsts[distinct] = i;
        row = distinct++;
      }
      rowOf[i] = row;
    }
    return new SharedPrompts(Arrays.copyOf(firsts, distinct), rowOf);
  }

  /** A prompt as a map key (arrays compare by content). */
  private record Key(long[] ids) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && Arrays.equals(ids, k.ids);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(ids);
    }
  }

  /** Number of distinct prompts. */
  int distinct() {
    return firsts.length;
  }

  /** Whether some requests share a prompt. */
  boolean isShared() {
    return firsts.length < rowOf.length;
  }

  /** [B] the distinct prompt of each request. */
  long[] rowOf() {
    return rowOf;
  }

  /** The rows of a row-major [B, width] array that belong to the distinct prompts: [distinct, width]. */
  long[] rows(long[] all, int width) {
    if (!isShared()) {
      return all;
    }
    long[] out = new long[firsts.length * width];
    for (int d = 0; d < firsts.length; d++) {
      System.arraycopy(all, firsts[d] * width, out, d * width, width);
    }
    return out;
  }
}
