package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.data.Batch;

/** The experience layout on a hand example: two prompts, right padding, the shifted action mask. */
class ExperienceTest {
  /** Sample 0: prompt [5, 6, 7] + response [9, 2] (stopped); sample 1: prompt [5] + response [8, 8, 8] (cut). */
  static RolloutRows layout() {
    return RolloutRows.of(List.of(new long[] {5, 6, 7}, new long[] {5}),
        List.of(new long[] {9, 2}, new long[] {8, 8, 8}),
        List.of(new float[] {-0.5f, -0.25f}, new float[] {-1f, -2f, -3f}), new boolean[] {false, true}, 0L);
  }

  @Test
  void layoutRightPadsAndMarksResponseTokensInTheShiftedFrame() {
    RolloutRows l = layout();
    assertEquals(2, l.batch());
    assertEquals(5, l.length());
    assertArrayEquals(new long[] {5, 6, 7, 9, 2, 5, 8, 8, 8, 0}, l.ids());
    assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, l.attention());
    // entry t scores x_{t+1}: row 0 responses at positions 3, 4 → t = 2, 3; row 1 at 1..3 → t = 0..2
    assertArrayEquals(new float[] {0, 0, 1, 1, 1, 1, 1, 0}, l.actionMask());
    assertArrayEquals(new float[] {0, 0, -0.5f, -0.25f, -1, -2, -3, 0}, l.rolloutLogProbs());
    assertArrayEquals(new int[] {2, 3}, l.responseLengths());
    assertEquals(false, l.truncated()[0]);
    assertEquals(true, l.truncated()[1]);
    assertArrayEquals(new long[] {5, 6, 7}, l.prompt(0));
    assertArrayEquals(new long[] {8, 8, 8}, l.response(1));
    assertArrayEquals(new float[] {-0.5f, -0.25f}, l.responseLogProbs(0));
    assertArrayEquals(new float[] {-1, -2, -3}, l.responseLogProbs(1));
    assertArrayEquals(new long[] {5, 6, 7, 9, 2}, l.sequence(0));
    RolloutRows copy = RolloutRows.ofArrays(2, 5, l.ids(), l.attention(), l.actionMask(), l.rolloutLogProbs(),
        l.truncated());
    assertArrayEquals(l.responseLengths(), copy.responseLengths());
    assertArrayEquals(new long[] {5}, copy.prompt(1));
  }

  static Experience handExperience() {
    RolloutRows l = layout();
    float[] perToken = {0, 1, 2, 3, 10, 11, 12, 13};
    return new Experience(2, 5, 1, l.ids(), l.attention(), l.actionMask(), l.rolloutLogProbs(), perToken, null, null,
        perToken, perToken, perToken, new double[] {0.5, 1.5}, l.truncated(), 7);
  }

  @Test
  void experienceReportsLengthsSequencesAndTokens() {
    Experience e = handExperience();
    assertEquals(4, e.actionFrame());
    assertEquals(5, e.actionTokens());
    assertArrayEquals(new int[] {2, 3}, e.responseLengths());
    assertArrayEquals(new long[] {5, 6, 7, 9, 2}, e.sequence(0));
    assertArrayEquals(new long[] {5, 8, 8, 8}, e.sequence(1));
    assertEquals(1.0, e.meanScore(), 1e-12);
    Batch b = e.tokens();
    assertArrayEquals(new long[] {0, 0, 1, 1, 1, 1, 1, 0}, b.lossMask());
    assertEquals(7, e.policyVersion());
  }

  @Test
  void selectReordersRowsOfEveryArray() {
    Experience s = handExperience().select(new int[] {1, 0});
    assertArrayEquals(new long[] {5, 8, 8, 8, 0, 5, 6, 7, 9, 2}, s.ids());
    assertArrayEquals(new float[] {10, 11, 12, 13, 0, 1, 2, 3}, s.advantages());
    assertArrayEquals(new float[] {1, 1, 1, 0, 0, 0, 1, 1}, s.actionMask());
    assertArrayEquals(new double[] {1.5, 0.5}, s.scores());
    assertEquals(null, s.values());
    assertEquals(7, s.policyVersion());
  }

  @Test
  void experienceIsImmutableAndRejectsWrongSizes() {
    Experience e = handExperience();
    e.advantages()[0] = 99;
    assertEquals(0f, e.advantages()[0]);
    assertThrows(IllegalArgumentException.class, () -> new Experience(2, 5, 1, new long[9], new long[10],
        new float[8], new float[8], new float[8], null, null, new float[8], new float[8], new float[8],
        new double[2], new boolean[2], 0));
  }
}
