package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** OpenRLHF defaults, and validation errors that name the option. */
class DataOptionsTest {

  @Test
  void defaultsAreOpenRlhfs() {
    DataOptions o = DataOptions.builder().build();
    assertEquals("input", o.inputKey());
    assertNull(o.outputKey());
    assertNull(o.promptKey());
    assertEquals("chosen", o.chosenKey());
    assertEquals("rejected", o.rejectedKey());
    assertEquals("label", o.labelKey());
    assertEquals("margin", o.marginKey());
    assertEquals(2048, o.maxLen());
    assertEquals(1_000_000, o.maxSamples());
    assertEquals(42L, o.seed());
    assertFalse(o.applyChatTemplate());
    assertNull(o.inputTemplate());
    assertEquals("User: {}\nAssistant: ", DataOptions.sftBuilder().build().inputTemplate());
  }

  @Test
  void inputTemplateFormatsLikePythonStrFormat() {
    assertEquals("User: hi\nAssistant: ", DataOptions.sftBuilder().build().formatInput("hi"));
    DataOptions braces = DataOptions.builder().inputTemplate("{{json}} {0}!").build();
    assertEquals("{json} a{b}!", braces.formatInput("a{b}"));
  }

  @Test
  void evalSplitIsAFractionOrASplitName() {
    assertEquals(0.25, DataOptions.builder().evalSplit("0.25").build().evalSplit());
    assertNull(DataOptions.builder().evalSplit("0.25").build().evalSplitName());
    DataOptions named = DataOptions.builder().evalSplit("test").evalDataset("org/name").build();
    assertEquals("test", named.evalSplitName());
    assertEquals(0.0, named.evalSplit());
    assertNull(DataOptions.builder().evalSplit((String) null).build().evalSplitName());
    assertEquals("train", DataOptions.builder().build().datasetSplit());
  }

  @Test
  void errorsNameTheOption() {
    assertMessage("max_len must be at least 3, got 2", DataOptions.builder().maxLen(2));
    assertMessage("max_samples must be at least 1, got 0", DataOptions.builder().maxSamples(0));
    assertMessage("eval_split must be a fraction in [0, 1), got 1.0", DataOptions.builder().evalSplit(1.0));
    assertMessage("input_key must be a non-empty key", DataOptions.builder().inputKey(" "));
    assertMessage("output_key must be a non-empty key or unset", DataOptions.builder().outputKey(""));
    assertMessage("eval_split 0.1 holds out a fraction of the training data, eval_dataset is a separate eval set: "
        + "give one of them (with eval_dataset, eval_split may name its split)",
        DataOptions.builder().evalSplit(0.1).evalDataset("e.jsonl"));
    assertMessage("eval_split must be a split name (letters, digits, '_', '.'), got 'te st'",
        DataOptions.builder().evalSplit("te st"));
    assertMessage("dataset_split must be a split name (letters, digits, '_', '.'), got 'a/b'",
        DataOptions.builder().datasetSplit("a/b"));
    assertMessage("dataset_probs has 1 entries but dataset names 2 source(s)",
        DataOptions.builder().dataset("a.jsonl,b.jsonl").datasetProbs("1.0"));
    assertMessage("dataset_probs must all be finite and > 0, got [0.5, 0.0]",
        DataOptions.builder().datasetProbs(List.of(0.5, 0.0)));
    assertMessage("input_template must contain exactly one {} placeholder, got 0 in 'no slot'",
        DataOptions.builder().inputTemplate("no slot"));
    assertMessage("input_template may only use the placeholder {} (and {{ }} for braces), got '{x}'",
        DataOptions.builder().inputTemplate("{x}"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> DataOptions.parseProbs("0.5,abc"));
    assertEquals("dataset_probs must be comma-separated numbers, got '0.5,abc'", e.getMessage());
  }

  private static void assertMessage(String message, DataOptions.Builder b) {
    assertEquals(message, assertThrows(IllegalArgumentException.class, b::build).getMessage());
  }
}
