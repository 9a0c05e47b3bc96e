package org.rlhfnode.runtime.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.rlhfnode.runtime.data.TokenLayout.Laid;

/**
 * Pads a list of examples on the right into a {@link Batch} (algorithms.md §1: training batches are
 * right-padded; pad positions have attention 0 and loss mask 0). Preference pairs become one batch of
 * 2B rows (chosen rows, then rejected rows) so one forward pass scores both, and KTO examples are
 * joined by the mismatched pairs (x_i, y_{(i+1) mod b}) that estimate the KL anchor (§6).
 */
public final class Collator {
  private final long padTokenId;
  private final long eosTokenId;
  private final int maxLen;

  /**
   * @param padTokenId id written into pad slots (masked, so any id works; HF uses the pad token)
   * @param eosTokenId EOS, forced at the end of a cut mismatched KTO sequence
   * @param maxLen token budget of a mismatched KTO sequence
   */
  public Collator(long padTokenId, long eosTokenId, int maxLen) {
    if (maxLen < 3) {
      throw new IllegalArgumentException("max_len must be at least 3, got " + maxLen);
    }
    this.padTokenId = padTokenId;
    this.eosTokenId = eosTokenId;
    this.maxLen = maxLen;
  }

  /** A collator with the tokenizer's pad id (EOS when it has none) and the options' max_len. */
  public static Collator of(TokenizerView tokenizer, DataOptions options) {
    return new Collator(tokenizer.padOrEos(), tokenizer.requireEos(), options.maxLen());
  }

  /** Right-pads {@code examples} into one batch; L is the longest example. */
  public Batch collate(List<SftExample> examples) {
    Objects.requireNonNull(examples, "examples");
    if (examples.isEmpty()) {
      throw new IllegalArgumentException("cannot collate an empty list of examples");
    }
    int b = examples.size();
    int l = examples.stream().mapToInt(SftExample::length).max().orElseThrow();
    long[] ids = new long[b * l];
    long[] attention = new long[b * l];
    long[] loss = new long[b * (l - 1)];
    Arrays.fill(ids, padTokenId);
    for (int i = 0; i < b; i++) {
      SftExample e = examples.get(i);
      System.arraycopy(e.ids(), 0, ids, i * l, e.length());
      Arrays.fill(attention, i * l, i * l + e.length(), 1L);
      boolean[] m = e.lossMask();
      for (int t = 0; t < m.length; t++) {
        loss[i * (l - 1) + t] = m[t] ? 1L : 0L;
      }
    }
    return new Batch(b, l, ids, attention, loss);
  }

  /** Rows 0..B−1 hold prompt + chosen, rows B..2B−1 prompt + rejected; margins per pair. */
  public PairBatch collatePairs(List<PairExample> pairs) {
    List<SftExample> rows = new ArrayList<>(2 * pairs.size());
    pairs.forEach(p -> rows.add(p.chosen()));
    pairs.forEach(p -> rows.add(p.rejected()));
    double[] margins = pairs.stream().mapToDouble(PairExample::margin).toArray();
    return new PairBatch(collate(rows), margins);
  }

  /** Rows 0..b−1 hold the examples, rows b..2b−1 the mismatched pairs (x_i, y_{(i+1) mod b}). */
  public KtoBatch collateKto(List<KtoExample> examples) {
    int b = examples.size();
    List<SftExample> rows = new ArrayList<>(2 * b);
    boolean[] desirable = new boolean[b];
    for (int i = 0; i < b; i++) {
      rows.add(examples.get(i).sequence());
      desirable[i] = examples.get(i).desirable();
    }
    for (int i = 0; i < b; i++) {
      rows.add(mismatched(examples.get(i), examples.get((i + 1) % b)));
    }
    return new KtoBatch(collate(rows), desirable);
  }

  /** x of {@code promptOf} followed by y of {@code completionOf}, cut to max_len with EOS (§1.7). */
  public SftExample mismatched(KtoExample promptOf, KtoExample completionOf) {
    Laid laid = TokenLayout.join(promptOf.promptIds(), completionOf.completionIds(), maxLen, eosTokenId);
    return laid.toExample();
  }

  /**
   * A batch of preference pairs: {@code batch} has 2B rows, chosen first, then rejected.
   *
   * @param batch [2B, L] chosen rows 0..B−1, rejected rows B..2B−1
   * @param margins [B] μ per pair
   */
  public record PairBatch(Batch batch, double[] margins) {
    public PairBatch {
      Objects.requireNonNull(batch, "batch");
      if (batch.batchSize() != 2 * margins.length) {
        throw new IllegalArgumentException("a pair batch needs 2 rows per margin");
      }
    }

    /** B, the number of pairs. */
    public int pairs() {
      return margins.length;
    }
  }

  /**
   * A KTO batch: {@code batch} has 2b rows, the b examples, then their b mismatched pairs.
   *
   * @param batch [2b, L]
   * @param desirable [b] label of each example row
   */
  public record KtoBatch(Batch batch, boolean[] desirable) {
    public KtoBatch {
      Objects.requireNonNull(batch, "batch");
      if (batch.batchSize() != 2 * desirable.length) {
        throw new IllegalArgumentException("a KTO batch needs 2 rows per example");
      }
    }

    /** b, the number of examples (and of mismatched pairs). */
    public int examples() {
      return desirable.length;
    }
  }
}
