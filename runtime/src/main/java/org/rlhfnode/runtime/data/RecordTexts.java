package org.rlhfnode.runtime.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.rlhfnode.runtime.data.TokenLayout.Segment;

/**
 * Turns a record into text pieces the way OpenRLHF's datasets do: the input template or the chat
 * template for the prompt, and for responses the text the chat template renders beyond the prompt
 * with its generation prompt ({@code apply_chat_template(prompt + response)[len(prompt):]}). A bare
 * string under a chat key becomes one user (prompt) or assistant (response) message.
 */
final class RecordTexts {
  private static final String USER = "user";
  private static final String ASSISTANT = "assistant";

  /** A prompt and one response, as text. */
  record PromptResponse(String prompt, String response) {}

  /** A prompt and two responses, as text. */
  record PromptPair(String prompt, String chosen, String rejected) {}

  private final DataOptions options;
  private final TokenizerView tokenizer;

  RecordTexts(DataOptions options, TokenizerView tokenizer) {
    this.options = options;
    this.tokenizer = tokenizer;
  }

  /** SFT pieces: prompt (masked) and response (target); every assistant span of a chat; or plain text. */
  List<Segment> sft(JsonRecord r) {
    if (options.pretrainMode()) {
      return List.of(new Segment(r.text(options.inputKey(), "input_key"), true));
    }
    if (options.applyChatTemplate() && options.outputKey() == null) {
      if (!r.isList(options.inputKey())) {
        throw r.error("input_key '" + options.inputKey() + "' must be a list of chat messages when output_key is"
            + " unset (set output_key for prompt/response data)");
      }
      return multiTurn(r, r.messages(options.inputKey(), "input_key", USER));
    }
    PromptResponse pr = promptResponse(r);
    return List.of(new Segment(pr.prompt(), false), new Segment(pr.response(), true));
  }

  /**
   * Prompt and response of a record with {@code input_key} and {@code output_key}; with the chat
   * template and no output key, the last message of the input list is the response.
   */
  PromptResponse promptResponse(JsonRecord r) {
    String input = options.inputKey();
    if (!options.applyChatTemplate()) {
      requireNoChat(r, input, "input_key");
      if (options.outputKey() == null) {
        throw new IllegalStateException("output_key must be set unless apply_chat_template or pretrain mode is on");
      }
      return new PromptResponse(options.formatInput(r.text(input, "input_key")), r.text(options.outputKey(),
          "output_key"));
    }
    List<Map<String, Object>> prompt;
    List<Map<String, Object>> full;
    if (options.outputKey() != null) {
      prompt = r.messages(input, "input_key", USER);
      full = concat(prompt, r.messages(options.outputKey(), "output_key", ASSISTANT));
    } else {
      full = r.messages(input, "input_key", USER);
      if (full.size() < 2) {
        throw r.error("input_key '" + input + "' needs at least two messages (prompt and response)"
            + " when output_key is unset");
      }
      prompt = full.subList(0, full.size() - 1);
    }
    String p = render(r, prompt, true);
    return new PromptResponse(p, suffix(r, p, render(r, full, false), "the response"));
  }

  /** The preference pair: prompt (if any), chosen and rejected response texts. */
  PromptPair pair(JsonRecord r) {
    String chosenKey = options.chosenKey();
    String rejectedKey = options.rejectedKey();
    String promptKey = options.promptKey();
    if (!options.applyChatTemplate()) {
      requireNoChat(r, chosenKey, "chosen_key");
      requireNoChat(r, rejectedKey, "rejected_key");
      String prompt = promptKey == null ? "" : options.formatInput(textOf(r, promptKey, "prompt_key"));
      return new PromptPair(prompt, r.text(chosenKey, "chosen_key"), r.text(rejectedKey, "rejected_key"));
    }
    List<Map<String, Object>> prompt;
    List<Map<String, Object>> chosen = r.messages(chosenKey, "chosen_key", ASSISTANT);
    List<Map<String, Object>> rejected = r.messages(rejectedKey, "rejected_key", ASSISTANT);
    if (promptKey != null) {
      prompt = r.messages(promptKey, "prompt_key", USER);
      chosen = concat(prompt, chosen);
      rejected = concat(prompt, rejected);
    } else {
      if (!r.isList(chosenKey) || !r.isList(rejectedKey)) {
        throw r.error("chosen_key '" + chosenKey + "' and rejected_key '" + rejectedKey
            + "' must be lists of chat messages when prompt_key is unset");
      }
      prompt = chosen.subList(0, chosen.size() - 1);
    }
    String p = render(r, prompt, true);
    return new PromptPair(p, suffix(r, p, render(r, chosen, false), "the chosen conversation"),
        suffix(r, p, render(r, rejected, false), "the rejected conversation"));
  }

  /** The generation prompt: the chat template with its generation prompt, or the input template. */
  String prompt(JsonRecord r) {
    String input = options.inputKey();
    if (options.applyChatTemplate()) {
      return render(r, r.messages(input, "input_key", USER), true);
    }
    requireNoChat(r, input, "input_key");
    return options.formatInput(r.text(input, "input_key"));
  }

  /**
   * Every assistant message's span is a target: the text between the conversation before it
   * rendered with the generation prompt and the conversation up to and including it.
   */
  private List<Segment> multiTurn(JsonRecord r, List<Map<String, Object>> messages) {
    String full = render(r, messages, false);
    List<Segment> segments = new ArrayList<>();
    int cursor = 0;
    for (int i = 0; i < messages.size(); i++) {
      if (!ASSISTANT.equals(messages.get(i).get("role"))) {
        continue;
      }
      String before = render(r, messages.subList(0, i), true);
      String through = render(r, messages.subList(0, i + 1), false);
      if (!through.startsWith(before) || !full.startsWith(through) || before.length() < cursor) {
        throw r.error("the chat template does not render conversation prefixes as prefixes of the whole"
            + " conversation (at message " + i + "), so its assistant spans cannot be located");
      }
      segments.add(new Segment(full.substring(cursor, before.length()), false));
      segments.add(new Segment(full.substring(before.length(), through.length()), true));
      cursor = through.length();
    }
    if (segments.isEmpty()) {
      throw r.error("input_key '" + options.inputKey() + "' has no assistant message to learn from");
    }
    segments.add(new Segment(full.substring(cursor), false));
    return segments;
  }

  private String render(JsonRecord r, List<Map<String, Object>> messages, boolean addGenerationPrompt) {
    try {
      return tokenizer.applyChatTemplate(messages, addGenerationPrompt, Map.of());
    } catch (RuntimeException e) {
      throw r.error("chat template failed: " + e.getMessage(), e);
    }
  }

  private static String suffix(JsonRecord r, String prompt, String full, String what) {
    if (!full.startsWith(prompt)) {
      throw r.error("the chat template does not render the prompt as a prefix of " + what);
    }
    return full.substring(prompt.length());
  }

  private static String textOf(JsonRecord r, String key, String option) {
    requireNoChat(r, key, option);
    return r.text(key, option);
  }

  private static void requireNoChat(JsonRecord r, String key, String option) {
    if (r.isList(key)) {
      throw r.error(option + " '" + key + "' holds a list of chat messages; set apply_chat_template to use it");
    }
  }

  private static List<Map<String, Object>> concat(List<Map<String, Object>> a, List<Map<String, Object>> b) {
    List<Map<String, Object>> out = new ArrayList<>(a.size() + b.size());
    out.addAll(a);
    out.addAll(b);
    return out;
  }
}
