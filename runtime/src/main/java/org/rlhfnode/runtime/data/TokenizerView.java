package org.rlhfnode.runtime.data;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;

/**
 * What the data package needs from a tokenizer: encoding without truncation, the chat template, and
 * the EOS and pad ids. {@link HfTokenizer} provides all of it ({@link #of(HfTokenizer)}); keeping this
 * view narrow lets the data code be tested with a hand-made tokenizer as well.
 */
public interface TokenizerView {

  /** A view of {@code tokenizer}; closing it stays the caller's business. */
  static TokenizerView of(HfTokenizer tokenizer) {
    Objects.requireNonNull(tokenizer, "tokenizer");
    return new TokenizerView() {
      @Override
      public long[] encode(String text, boolean addSpecialTokens) {
        return tokenizer.encode(text, addSpecialTokens);
      }

      @Override
      public String applyChatTemplate(List<Map<String, Object>> messages, boolean addGenerationPrompt,
          Map<String, Object> extraContext) {
        return tokenizer.applyChatTemplate(messages, addGenerationPrompt, extraContext);
      }

      @Override
      public OptionalLong eosTokenId() {
        return tokenizer.eosTokenId();
      }

      @Override
      public OptionalLong padTokenId() {
        return tokenizer.padTokenId();
      }
    };
  }

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
