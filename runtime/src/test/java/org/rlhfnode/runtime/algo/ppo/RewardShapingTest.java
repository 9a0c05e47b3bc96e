package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.mat;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.row;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.values;
import static org.rlhfnode.runtime.algo.ppo.Fixtures.vec;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;

class RewardShapingTest {
  private static final RewardShaping.Options DEFAULTS = RewardShaping.Options.DEFAULTS;

  @Test
  void workedExample2PerTokenRewards() {
    try (PointerScope s = new PointerScope()) {
      Tensor r = RewardShaping.perTokenRewards(row(0.1f, -0.2f, 0.3f), row(1, 1, 1), vec(1f), 0.1, false);
      assertArrayEquals(new float[] {-0.01f, 0.02f, 0.97f}, values(r), 1e-7f);
    }
  }

  @Test
  void klAsLossModeDropsThePenaltyFromTheReward() {
    try (PointerScope s = new PointerScope()) {
      Tensor r = RewardShaping.perTokenRewards(row(0.1f, -0.2f, 0.3f), row(1, 1, 1), vec(1f), 0.1, true);
      assertArrayEquals(new float[] {0, 0, 1}, values(r), 0f);
      // no reference pass at all: kl may be null
      Tensor noRef = RewardShaping.perTokenRewards(null, row(1, 1, 0), vec(2f), 0.0, false);
      assertArrayEquals(new float[] {0, 2, 0}, values(noRef), 0f);
    }
  }

  @Test
  void scoreGoesToTheLastActionTokenAndPenaltyOnlyToActionTokens() {
    try (PointerScope s = new PointerScope()) {
      // row 0: action, observation, action, action, padding; row 1: one action token then padding
      Tensor mask = mat(2, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0);
      Tensor kl = mat(2, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2);
      Tensor r = RewardShaping.perTokenRewards(kl, mask, vec(5f, -3f), 0.5, false);
      assertArrayEquals(new float[] {-0.5f, 0, -0.5f, 4.5f, 0, -4f, 0, 0, 0, 0}, values(r), 1e-6f);
      assertArrayEquals(new float[] {0, 0, 0, 1, 0, 1, 0, 0, 0, 0},
          values(RewardShaping.lastActionMask(mask)), 0f);
      assertArrayEquals(new long[] {3, 1}, Tensors.toLongs(RewardShaping.responseLengths(mask)));
    }
  }

  @Test
  void rejectsARowWithoutActionTokensAndAMissingKl() {
    try (PointerScope s = new PointerScope()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> RewardShaping.perTokenRewards(null, mat(2, 1, 1, 0, 0), vec(1f, 1f), 0.0, false));
      assertTrue(e.getMessage().contains("row 1"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> RewardShaping.perTokenRewards(null, row(1, 1), vec(1f), 0.1, false));
      assertThrows(IllegalArgumentException.class,
          () -> RewardShaping.perTokenRewards(row(0, 0), row(1, 1), vec(1f, 2f), 0.1, false));
    }
  }

  @Test
  void overlongPenaltyGrowsLinearlyInsideTheBuffer() {
    try (PointerScope s = new PointerScope()) {
      // G = 100, b = 20, f = 1: e = min(len − 80, 20); lengths 70, 80, 90, 100
      RewardShaping.Options o = DEFAULTS.withOverlong(100, 20, 1.0);
      Tensor out = RewardShaping.lengthPenalties(o, vec(1, 1, 1, 1), vec(70, 80, 90, 100), vec(0, 0, 0, 0));
      assertArrayEquals(new float[] {1f, 1f, 0.5f, 0f}, values(out), 1e-6f);
      // factor 2 doubles it
      Tensor twice = RewardShaping.lengthPenalties(DEFAULTS.withOverlong(100, 20, 2.0), vec(1), vec(90), vec(0));
      assertArrayEquals(new float[] {0f}, values(twice), 1e-6f);
    }
  }

  @Test
  void truncationScalesOrReplacesTheScoreOfTruncatedSamplesOnly() {
    try (PointerScope s = new PointerScope()) {
      Tensor scores = vec(2f, 2f);
      Tensor lengths = vec(5, 5);
      Tensor truncated = vec(1, 0);
      assertArrayEquals(new float[] {1f, 2f}, values(RewardShaping.lengthPenalties(
          DEFAULTS.withTruncationCoef(0.5), scores, lengths, truncated)), 1e-6f);
      assertArrayEquals(new float[] {-1f, 2f}, values(RewardShaping.lengthPenalties(
          DEFAULTS.withTruncationCoef(-1.0), scores, lengths, truncated)), 1e-6f);
      assertArrayEquals(new float[] {2f, 2f}, values(RewardShaping.lengthPenalties(
          DEFAULTS, scores, lengths, truncated)), 0f);
      assertThrows(IllegalArgumentException.class, () -> DEFAULTS.withTruncationCoef(1.5));
    }
  }

  @Test
  void sequenceRewardsPenaliseThenTakeTheGroupBaselineThenClip() {
    try (PointerScope s = new PointerScope()) {
      // one group of 2: s = [30, 0]; truncation c = 0.5 on the first → [15, 0];
      // Dr.GRPO baseline → [7.5, −7.5]; clip to [−5, 5] → [5, −5]
      RewardShaping.Options o = DEFAULTS.withTruncationCoef(0.5).withClip(-5, 5);
      Tensor out = RewardShaping.sequenceRewards(o, AdvantageEstimator.DR_GRPO, 2, vec(30, 0), vec(3, 3), vec(1, 0));
      assertArrayEquals(new float[] {5f, -5f}, values(out), 1e-6f);
      // the default clip is [−10, 10]
      Tensor clipped = RewardShaping.sequenceRewards(DEFAULTS, AdvantageEstimator.REINFORCE, 1, vec(30, -0.5f, -12),
          vec(1, 1, 1), vec(0, 0, 0));
      assertArrayEquals(new float[] {10f, -0.5f, -10f}, values(clipped), 0f);
    }
  }

  @Test
  void optionsNameTheOffendingField() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> DEFAULTS.withOverlong(10, 20, 1.0));
    assertTrue(e.getMessage().contains("overlongBuffer"));
    e = assertThrows(IllegalArgumentException.class, () -> DEFAULTS.withClip(1, -1));
    assertTrue(e.getMessage().contains("clipLow"));
  }
}
