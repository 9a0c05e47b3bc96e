package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ExactMatchRewardTest {
  private final RewardFunction exact = RewardFunction.load("exact_match");

  @Test
  void theFinalAnswerOfTheResponseMustEqualTheLabel() {
    assertEquals(1.0, exact.score("What is 3+4?", "The answer is 7.", "7"));
    assertEquals(0.0, exact.score("What is 3+4?", "The answer is 8.", "7"));
    assertEquals(1.0, exact.score("", "3 + 4 = 7, so \\boxed{7}", "7"), "boxed wins over the last number");
    assertEquals(0.0, exact.score("", "\\boxed{6} and then 7", "7"), "boxed wins even when a number follows");
    assertEquals(1.0, exact.score("", "\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"), "nested braces");
    assertEquals(1.0, exact.score("", "so 24 + 48 = 72\n#### 72", "Natalia sold 48 ... #### 72"), "GSM8K style");
    assertEquals(1.0, exact.score("", "It costs $1,000.", "1000"), "thousands separator and period");
    assertEquals(1.0, exact.score("", "7.0", "7"), "compared as numbers");
    assertEquals(1.0, exact.score("", "Paris", "Paris"));
    assertEquals(0.0, exact.score("", "It is Paris", "Paris"), "exact: no number, whole text");
  }

  @Test
  void aPromptWithoutLabelScoresZero() {
    assertEquals(0.0, exact.score("q", "7", ""));
    assertEquals(0.0, exact.score("q", "7"));
  }

  @Test
  void unknownFunctionNamesAreOneLineErrors() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RewardFunction.load("exact"));
    assertEquals("--reward_functions: class exact not found on the class path (built-in names: exact_match)",
        e.getMessage());
    assertTrue(RewardFunction.load(ExactMatchReward.class.getName()) instanceof ExactMatchReward);
  }
}
