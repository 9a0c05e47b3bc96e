package org.rlhfnode.runtime.data;

import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * What the data package needs from a tokenizer: encoding without truncation, the chat template, and
 * the EOS and pad ids. {@code org.rlhfnode.runtime.tokenizer.HfTokenizer} provides all of it; keeping
 * this narrow view lets the data code be tested with any tokenizer and keeps the dependency one-way.
 */
public interface TokenizerView {

  /** Token ids of {@code text}; with {@code addSpecialTokens} the post-processor's BOS/EOS are added. */
  long[] encode(String text, boolean addSpecialTokens);

  /** The chat template rendered to text, as {@code apply_chat_template(tokenize=False)} does. */
  String applyChatTemplate(List<Map<String, Object>> messages, boolean addGenerationPrompt,
      Map<String, Object> extraContext);

  /** Id of the EOS token, if the tokenizer defines one. */
  OptionalLong eosTokenId();

  /** Id of the pad token, if the tokenizer defines one. */
  OptionalLong padTokenId();

  /** The EOS id, or an {@link IllegalStateException}: every supervised example needs one (§1.7). */
  default long requireEos() {
    return eosTokenId().orElseThrow(() -> new IllegalStateException("the tokenizer defines no eos_token"));
  }

  /** The pad id, falling back to EOS as OpenRLHF does when a tokenizer has no pad token. */
  default long padOrEos() {
    OptionalLong pad = padTokenId();
    return pad.isPresent() ? pad.getAsLong() : requireEos();
  }
}
