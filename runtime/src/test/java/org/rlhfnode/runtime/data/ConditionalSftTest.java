package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.rlhfnode.runtime.data.DataTestSupport.record;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Score tags of conditional SFT (algorithms.md §11) formatted as Python's "{:.2f}". */
class ConditionalSftTest {

  @Test
  void promptGetsTheScoreTagWithTwoDecimalsAndATrailingSpace() {
    assertEquals("How? <rm_score>: 4.50 ", ConditionalSft.conditionPrompt("How?", 4.5));
    assertEquals("x <rm_score>: -1.00 ", ConditionalSft.conditionPrompt("x", -1));
  }

  @Test
  void scoresRoundLikePythonFormat() {
    assertEquals("0.12", ConditionalSft.formatScore(0.125)); // exact tie: half-even
    assertEquals("0.14", ConditionalSft.formatScore(0.135)); // binary value is above the tie
    assertEquals("2.67", ConditionalSft.formatScore(2.675)); // binary value is below the tie
    assertEquals("-0.00", ConditionalSft.formatScore(-0.001));
    assertEquals("5.00", ConditionalSft.formatScore(5));
  }

  @Test
  void zNormalisationUsesTheSampleStd() {
    assertArrayEquals(new double[] {-1, 0, 1}, ConditionalSft.zNormalize(new double[] {1, 2, 3}), 1e-12);
  }

  @Test
  void rewriteTagsEachRecordsInputWithItsScore() {
    List<JsonRecord> out = ConditionalSft.rewrite(List.of(record("{\"input\":\"a\",\"reward\":1}"),
        record("{\"input\":\"b\",\"reward\":3}")), "input", "reward", true);
    assertEquals("a <rm_score>: -0.71 ", out.get(0).text("input", "input_key"));
    assertEquals("b <rm_score>: 0.71 ", out.get(1).text("input", "input_key"));
  }
}
