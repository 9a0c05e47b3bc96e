package org.rlhfnode.runtime.data;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.rlhfnode.runtime.data.RecordTexts.PromptPair;
import org.rlhfnode.runtime.data.RecordTexts.PromptResponse;
import org.rlhfnode.runtime.data.TokenLayout.Laid;
import org.rlhfnode.runtime.data.TokenLayout.Segment;

/**
 * Builds training examples from records: token ids and shifted loss masks, never tensors.
 *
 * <p>Layout (algorithms.md §1.4, §1.7, §3): text is encoded without special tokens, piece by piece
 * (prompt, then response), so masks line up exactly with the text they cover. Supervised text has
 * trailing newlines stripped, gets EOS appended when it does not already end with it, and is cut to
 * {@code max_len} with the last token overwritten by EOS. Pretraining text is cut without EOS
 * forcing and every token after the first is a target.
 *
 * <p>An example whose first target token would sit at index {@code max_len − 2} or later (a prompt
 * too long to leave room for a response) is not built: the methods return empty, as OpenRLHF filters
 * such examples. Callers count these; a malformed record, by contrast, throws
 * {@link DataFormatException}.
 */
public final class ExampleBuilder {
  private final DataOptions options;
  private final TokenizerView tokenizer;
  private final RecordTexts texts;
  private final long eos;

  /** A builder for {@code options}; the tokenizer must define an EOS token. */
  public ExampleBuilder(DataOptions options, TokenizerView tokenizer) {
    this.options = Objects.requireNonNull(options, "options");
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    this.texts = new RecordTexts(options, tokenizer);
    this.eos = tokenizer.requireEos();
  }

  public DataOptions options() {
    return options;
  }

  /** The EOS id every supervised example ends with. */
  public long eosTokenId() {
    return eos;
  }

  /**
   * An SFT example: single turn (prompt masked; response and EOS targets), multi-turn chat (every
   * assistant span a target; with {@code apply_chat_template}, {@code input_key} a message list and
   * no {@code output_key}), or continued pretraining (every token a target).
   */
  public Optional<SftExample> sft(JsonRecord r) {
    List<Segment> segments = texts.sft(r);
    int maxLen = options.maxLen();
    if (options.pretrainMode()) {
      Laid laid = TokenLayout.truncate(TokenLayout.encode(segments, tokenizer), maxLen, false, eos);
      return laid.length() < 2 ? Optional.empty() : Optional.of(laid.toExample());
    }
    Laid laid = TokenLayout.supervised(segments, tokenizer, maxLen, eos);
    return roomForResponse(laid.firstTarget()) ? Optional.of(laid.toExample()) : Optional.empty();
  }

  /** A preference pair (RM and DPO): prompt, chosen and rejected ids, and the margin. */
  public Optional<PairExample> pair(JsonRecord r) {
    PromptPair pt = texts.pair(r);
    double margin = r.numberOrZero(options.marginKey(), "margin_key");
    long[] prompt = encode(pt.prompt());
    if (!roomForResponse(prompt.length)) {
      return Optional.empty();
    }
    long[] chosen = response(r, pt.prompt(), prompt, pt.chosen());
    long[] rejected = response(r, pt.prompt(), prompt, pt.rejected());
    return Optional.of(new PairExample(prompt, chosen, rejected, margin));
  }

  /** A KTO example: prompt, completion and the desirable/undesirable label. */
  public Optional<KtoExample> kto(JsonRecord r) {
    PromptResponse pr = texts.promptResponse(r);
    boolean desirable = r.label(options.labelKey(), "label_key");
    long[] prompt = encode(pr.prompt());
    if (!roomForResponse(prompt.length)) {
      return Optional.empty();
    }
    return Optional.of(new KtoExample(prompt, response(r, pr.prompt(), prompt, pr.response()), desirable));
  }

  /** A generation prompt; never cut, never dropped. */
  public PromptExample prompt(JsonRecord r) {
    String text = texts.prompt(r);
    return new PromptExample(encode(text), text, r.textOrJson(options.labelKey()));
  }

  /** OpenRLHF keeps an example only if its prompt leaves at least two tokens for the response. */
  private boolean roomForResponse(int firstTarget) {
    return firstTarget < options.maxLen() - 2;
  }

  private long[] encode(String text) {
    return text.isEmpty() ? new long[0] : tokenizer.encode(text, false);
  }

  /** The response ids after the prompt: stripped, EOS-terminated and cut with the prompt to max_len. */
  private long[] response(JsonRecord r, String promptText, long[] prompt, String response) {
    Laid laid = TokenLayout.supervised(List.of(new Segment(promptText, false), new Segment(response, true)),
        tokenizer, options.maxLen(), eos);
    long[] ids = laid.ids();
    if (ids.length <= prompt.length || !Arrays.equals(ids, 0, prompt.length, prompt, 0, prompt.length)) {
      throw r.error("the response is empty once trailing newlines are stripped");
    }
    return Arrays.copyOfRange(ids, prompt.length, ids.length);
  }
}
