package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.mat;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.values;

import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;

class KlControllerTest {
  @Test
  void workedExample12AdaptiveUpdateWithClippedError() {
    KlController c = KlController.adaptive(0.1, 6.0, 10000);
    assertEquals(0.102048, c.update(9.0, 1024), 1e-12);
    assertEquals(0.102048, c.value(), 1e-12);
  }

  @Test
  void adaptiveCoefficientMovesTowardTheTargetWithinTheClip() {
    KlController up = KlController.adaptive(0.1, 6.0);
    up.update(6.6, 1000); // e = 0.1, inside the clip
    assertEquals(0.1 * (1 + 0.1 * 1000 / 10000.0), up.value(), 1e-12);
    KlController down = KlController.adaptive(0.1, 6.0);
    down.update(0.0, 1000); // e = −1 clipped to −0.2
    assertEquals(0.1 * (1 - 0.2 * 1000 / 10000.0), down.value(), 1e-12);
    KlController huge = KlController.adaptive(0.1, 6.0);
    huge.update(600.0, 1000); // e = 99 clipped to 0.2
    assertEquals(0.1 * (1 + 0.2 * 1000 / 10000.0), huge.value(), 1e-12);
    KlController atTarget = KlController.adaptive(0.1, 6.0);
    atTarget.update(6.0, 1000);
    assertEquals(0.1, atTarget.value(), 1e-15);
  }

  @Test
  void repeatedUpdatesConvergeDirectionallyAndFixedNeverMoves() {
    KlController c = KlController.adaptive(1.0, 1.0, 100);
    double previous = c.value();
    for (int i = 0; i < 5; i++) {
      assertTrue(c.update(0.5, 10) < previous); // KL below target → β falls
      previous = c.value();
    }
    KlController fixed = KlController.fixed(0.01);
    fixed.update(100.0, 1024);
    assertEquals(0.01, fixed.value(), 0.0);
    assertFalse(fixed.isAdaptive());
    assertTrue(c.isAdaptive());
  }

  @Test
  void observedKlIsTheMeanOfPerSequenceMeans() {
    try (PointerScope s = new PointerScope()) {
      // row 0: mean of (1, 3) = 2; row 1: 4 (one token); token mean would be 8/3 instead
      var kl = mat(2, 1, 3, 9, 4, 9, 9);
      var mask = mat(2, 1, 1, 0, 1, 0, 0);
      assertArrayEquals(new float[] {2f, 4f}, values(KlController.sequenceMeanKl(kl, mask)), 1e-6f);
      assertEquals(3.0, KlController.observedKl(kl, mask), 1e-9);
    }
  }

  @Test
  void rejectsInvalidSettings() {
    assertThrows(IllegalArgumentException.class, () -> KlController.adaptive(0.1, 0.0));
    assertThrows(IllegalArgumentException.class, () -> KlController.adaptive(0.1, 1.0, -1));
    assertThrows(IllegalArgumentException.class, () -> KlController.fixed(-0.1));
    assertThrows(IllegalArgumentException.class, () -> KlController.fixed(0.1).update(Double.NaN, 1));
  }
}
