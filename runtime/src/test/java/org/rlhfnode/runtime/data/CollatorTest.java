package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Right padding into flat [B, L] / [B, L−1] arrays, pair batches and KTO's mismatched rows. */
class CollatorTest {
  private static final long PAD = 0;
  private static final long EOS = 2;
  private final Collator collator = new Collator(PAD, EOS, 6);

  @Test
  void rightPadsIdsAttentionAndShiftedLossMask() {
    SftExample a = new SftExample(new long[] {10, 11, 12, 13}, new boolean[] {false, true, true});
    SftExample b = new SftExample(new long[] {20, 21}, new boolean[] {true});
    Batch batch = collator.collate(List.of(a, b));
    assertEquals(2, batch.batchSize());
    assertEquals(4, batch.length());
    assertArrayEquals(new long[] {10, 11, 12, 13, 20, 21, PAD, PAD}, batch.ids());
    assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 0, 0}, batch.attentionMask());
    assertArrayEquals(new long[] {0, 1, 1, 1, 0, 0}, batch.lossMask());
    assertArrayEquals(new int[] {4, 2}, batch.lengths());
    assertEquals(3, batch.targetTokens());
    assertEquals(21, batch.id(1, 1));
    assertEquals(1, batch.loss(0, 2));
  }

  @Test
  void pairBatchHasChosenRowsThenRejectedRows() {
    PairExample p = new PairExample(new long[] {7, 8}, new long[] {30, EOS}, new long[] {40, 41, EOS}, 0.5);
    PairExample q = new PairExample(new long[] {9}, new long[] {50, EOS}, new long[] {EOS}, 0.0);
    Collator.PairBatch pb = collator.collatePairs(List.of(p, q));
    Batch b = pb.batch();
    assertEquals(2, pb.pairs());
    assertEquals(4, b.batchSize());
    assertEquals(5, b.length());
    assertArrayEquals(new long[] {7, 8, 30, EOS, PAD, 9, 50, EOS, PAD, PAD, 7, 8, 40, 41, EOS, 9, EOS, PAD, PAD, PAD},
        b.ids());
    // shifted masks: chosen of p targets tokens 2, 3 -> entries 1, 2; rejected of q targets token 1 -> entry 0
    assertArrayEquals(new long[] {0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0}, b.lossMask());
    assertArrayEquals(new double[] {0.5, 0.0}, pb.margins());
  }

  @Test
  void ktoBatchAppendsMismatchedPairsCutToMaxLen() {
    KtoExample x = new KtoExample(new long[] {1, 1, 1}, new long[] {5, EOS}, true);
    KtoExample y = new KtoExample(new long[] {3}, new long[] {6, 6, 6, 6, EOS}, false);
    Collator.KtoBatch kb = collator.collateKto(List.of(x, y));
    assertArrayEquals(new boolean[] {true, false}, kb.desirable());
    Batch b = kb.batch();
    assertEquals(4, b.batchSize());
    // row 2: x's prompt + y's completion, cut to max_len 6 with EOS forced; row 3: y's prompt + x's completion
    long[] row2 = java.util.Arrays.copyOfRange(b.ids(), 2 * b.length(), 3 * b.length());
    assertArrayEquals(new long[] {1, 1, 1, 6, 6, EOS}, row2);
    SftExample mismatched = collator.mismatched(y, x);
    assertArrayEquals(new long[] {3, 5, EOS}, mismatched.ids());
    assertArrayEquals(new boolean[] {true, true}, mismatched.lossMask());
  }

  @Test
  void emptyBatchIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> collator.collate(List.of()));
  }
}
