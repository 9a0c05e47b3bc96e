package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class DynamicFilterTest {
  @Test
  void keepsGroupsWhoseMeanIsStrictlyInsideTheRange() {
    // groups of 2: means 1, 0.5, 0, 0.5 → with (0, 1) only the mixed ones pass
    double[] scores = {1, 1, 1, 0, 0, 0, 0, 1};
    assertArrayEquals(new boolean[] {false, true, false, true}, DynamicFilter.DEFAULT.keep(scores, 2));
    // (0.4, 1.5): mean 1 now passes, 0.5 too, 0 does not
    assertArrayEquals(new boolean[] {true, true, false, true}, new DynamicFilter(0.4, 1.5).keep(scores, 2));
    // the bounds are excluded: a group whose mean equals lo or hi is dropped
    assertArrayEquals(new boolean[] {false, false, false, false}, new DynamicFilter(0.5, 1).keep(scores, 2));
  }

  @Test
  void rejectsAnEmptyRangeAndScoresThatDoNotFormGroups() {
    assertThrows(IllegalArgumentException.class, () -> new DynamicFilter(1, 1));
    assertThrows(IllegalArgumentException.class, () -> DynamicFilter.DEFAULT.keep(new double[3], 2));
  }
}
