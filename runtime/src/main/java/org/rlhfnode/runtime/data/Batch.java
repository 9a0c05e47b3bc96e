package org.rlhfnode.runtime.data;

import java.util.Objects;

/**
 * A right-padded batch as flat row-major arrays, ready to become tensors: B rows of L tokens. The
 * trainer builds {@code ids} and {@code attentionMask} as [B, L] and {@code lossMask} as [B, L−1]
 * (the shifted frame of algorithms.md §1.2: entry t of a row belongs to token t + 1). The arrays are
 * stored as given; treat them as read-only.
 *
 * @param batchSize B
 * @param length L, the longest sequence of the batch
 * @param ids [B·L] token ids, pad id after each sequence
 * @param attentionMask [B·L] 1 on real tokens, 0 on padding
 * @param lossMask [B·(L−1)] 1 where the next token is a target
 */
public record Batch(int batchSize, int length, long[] ids, long[] attentionMask, long[] lossMask) {

  public Batch {
    Objects.requireNonNull(ids, "ids");
    Objects.requireNonNull(attentionMask, "attentionMask");
    Objects.requireNonNull(lossMask, "lossMask");
    if (batchSize < 1 || length < 1) {
      throw new IllegalArgumentException("batch must be at least 1×1, got " + batchSize + "×" + length);
    }
    long cells = (long) batchSize * length;
    if (ids.length != cells || attentionMask.length != cells) {
      throw new IllegalArgumentException("ids and attentionMask must hold B·L = " + cells + " entries, got "
          + ids.length + " and " + attentionMask.length);
    }
    if (lossMask.length != (long) batchSize * (length - 1)) {
      throw new IllegalArgumentException("lossMask must hold B·(L−1) = " + (long) batchSize * (length - 1)
          + " entries, got " + lossMask.length);
    }
  }

  /** Σ m over the batch: the target tokens this batch adds to N_step (§2). */
  public long targetTokens() {
    long n = 0;
    for (long m : lossMask) {
      n += m;
    }
    return n;
  }

  /** Real (non-pad) tokens of each row; for right padding the last real token is at lengths[i] − 1. */
  public int[] lengths() {
    int[] out = new int[batchSize];
    for (int i = 0; i < batchSize; i++) {
      int n = 0;
      for (int t = 0; t < length; t++) {
        n += (int) attentionMask[i * length + t];
      }
      out[i] = n;
    }
    return out;
  }

  /** Token (i, t). */
  public long id(int row, int t) {
    return ids[row * length + t];
  }

  /** Loss-mask entry (i, t), t in the shifted frame. */
  public long loss(int row, int t) {
    return lossMask[row * (length - 1) + t];
  }
}
