package org.rlhfnode.runtime.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * A prompt for generation (rollouts, rejection sampling, conditional SFT scoring): the rendered text
 * (chat template with the generation prompt, or input template) and its ids, encoded without
 * special tokens as OpenRLHF does. Prompts are not cut to {@code max_len}; generation has its own
 * budget. {@code label} is the record's {@code label_key} value (a reference answer), "" if absent.
 *
 * @param ids token ids of {@code text}
 * @param text the rendered prompt
 * @param label reference answer or other label text, "" when the record has none
 */
public record PromptExample(long[] ids, String text, String label) {

  public PromptExample {
    ids = Objects.requireNonNull(ids, "ids").clone();
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(label, "label");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PromptExample p && Arrays.equals(ids, p.ids) && text.equals(p.text) && label.equals(p.label);
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(ids), text, label);
  }

  @Override
  public String toString() {
    return "PromptExample[text=" + text + ", ids=" + Arrays.toString(ids) + ", label=" + label + "]";
  }
}
