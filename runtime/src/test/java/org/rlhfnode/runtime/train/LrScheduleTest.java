package org.rlhfnode.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.train.LrSchedule.Kind;

class LrScheduleTest {
  private static final double PEAK = 2e-5;

  /** 100 steps, 10 of warm-up: decay runs over 90 steps, its midpoint is step 55. */
  private static LrSchedule schedule(Kind kind) {
    return LrSchedule.of(kind, PEAK, 100, 0.1);
  }

  @Test
  void warmupRisesLinearlyFromZeroAndEndsAtThePeakForEveryKind() {
    for (Kind kind : Kind.values()) {
      LrSchedule s = schedule(kind);
      assertEquals(10, s.warmupSteps());
      assertEquals(0.0, s.lr(0), kind.flagName());
      assertEquals(PEAK * 0.5, s.lr(5), 1e-18, kind.flagName());
      assertEquals(PEAK, s.lr(10), 1e-18, kind.flagName());
    }
  }

  @Test
  void decayMidpointAndEnd() {
    assertEquals(PEAK, schedule(Kind.CONSTANT_WITH_WARMUP).lr(55), 1e-18);
    assertEquals(PEAK, schedule(Kind.CONSTANT_WITH_WARMUP).lr(100), 1e-18);
    assertEquals(PEAK * 0.5, schedule(Kind.LINEAR).lr(55), 1e-18);
    assertEquals(0.0, schedule(Kind.LINEAR).lr(100), 1e-18);
    assertEquals(PEAK * 0.5, schedule(Kind.COSINE).lr(55), 1e-18);
    assertEquals(0.0, schedule(Kind.COSINE).lr(100), 1e-18);
    // cosine with a 10 % floor: ½(1 + cos πp)·0.9 + 0.1 → 0.55 at the midpoint, 0.1 at the end
    assertEquals(PEAK * 0.55, schedule(Kind.COSINE_WITH_MIN_LR).lr(55), 1e-18);
    assertEquals(PEAK * 0.1, schedule(Kind.COSINE_WITH_MIN_LR).lr(100), 1e-18);
  }

  @Test
  void cosineFollowsTheCurveBetweenTheMarks() {
    LrSchedule s = schedule(Kind.COSINE_WITH_MIN_LR);
    double p = (70 - 10) / 90.0;
    assertEquals(PEAK * (0.5 * (1 + Math.cos(Math.PI * p)) * 0.9 + 0.1), s.lr(70), 1e-18);
  }

  @Test
  void warmupStepsAreTheCeilingOfTotalTimesRatio() {
    assertEquals(3, LrSchedule.of(Kind.LINEAR, 1, 7, 0.3).warmupSteps()); // 2.1 → 3
    assertEquals(0, LrSchedule.of(Kind.LINEAR, 1, 7, 0).warmupSteps());
    assertEquals(1.0, LrSchedule.of(Kind.COSINE, 1, 7, 0).factor(0));
  }

  @Test
  void namesParseAsOpenRlhfSpellsThemAndBadValuesAreRejected() {
    assertEquals(Kind.COSINE_WITH_MIN_LR, Kind.parse("cosine_with_min_lr"));
    assertEquals(Kind.CONSTANT_WITH_WARMUP, Kind.parse("Constant_With_Warmup"));
    assertThrows(IllegalArgumentException.class, () -> Kind.parse("step"));
    assertThrows(IllegalArgumentException.class, () -> LrSchedule.of(Kind.LINEAR, 1, 10, 1.5));
    assertThrows(IllegalArgumentException.class, () -> new LrSchedule(Kind.LINEAR, -1, 10, 1, 0.1));
    assertThrows(IllegalArgumentException.class, () -> schedule(Kind.LINEAR).lr(-1));
  }
}
