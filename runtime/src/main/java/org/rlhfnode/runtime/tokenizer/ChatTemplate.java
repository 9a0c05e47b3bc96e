package org.rlhfnode.runtime.tokenizer;

import java.time.Clock;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.rlhfnode.runtime.tokenizer.jinja.Template;
import org.rlhfnode.runtime.tokenizer.jinja.TemplateException;

/**
 * A HuggingFace chat template: a compiled Jinja template plus the tokenizer's special tokens,
 * rendered with the same variables {@code tokenizer.apply_chat_template(..., tokenize=False)} passes
 * ({@code messages}, {@code add_generation_prompt}, {@code tools} and {@code documents} defaulting
 * to None, the special-tokens map, and any extra keyword arguments such as {@code enable_thinking}).
 * Immutable and thread-safe.
 */
public final class ChatTemplate {
  private final Template template;
  private final Map<String, Object> specialTokens;
  private final Clock clock;

  private ChatTemplate(Template template, Map<String, Object> specialTokens, Clock clock) {
    this.template = template;
    this.specialTokens = specialTokens;
    this.clock = clock;
  }

  /**
   * Compiles {@code source}. {@code specialTokens} is HF's {@code special_tokens_map}: names such as
   * {@code bos_token} mapped to token strings (and {@code additional_special_tokens} to a list);
   * tokens the tokenizer does not define should be absent, so templates see them as undefined.
   *
   * @throws TemplateException if the template has a syntax error or uses an unsupported feature
   */
  public static ChatTemplate compile(String source, Map<String, ?> specialTokens) {
    Objects.requireNonNull(specialTokens, "specialTokens");
    Map<String, Object> tokens = new LinkedHashMap<>();
    specialTokens.forEach((k, v) -> {
      if (v != null) {
        tokens.put(k, v);
      }
    });
    return new ChatTemplate(Template.compile(source), Collections.unmodifiableMap(tokens), Clock.systemDefaultZone());
  }

  /** A copy whose {@code strftime_now} reads {@code newClock}; for reproducible prompts and tests. */
  public ChatTemplate withClock(Clock newClock) {
    return new ChatTemplate(template, specialTokens, Objects.requireNonNull(newClock, "clock"));
  }

  public String source() {
    return template.source();
  }

  public Map<String, Object> specialTokens() {
    return specialTokens;
  }

  /**
   * Renders a conversation. Each message is a map with at least {@code role} and usually
   * {@code content} (a string, or a list of content parts for multimodal templates); tool calls and
   * other fields pass through untouched. {@code extraContext} (may be null) adds template variables
   * such as {@code tools}, {@code documents}, {@code enable_thinking} or {@code date_string}; it may
   * override special tokens but not {@code messages} or {@code add_generation_prompt}.
   *
   * @throws TemplateException if rendering fails, including a template's own {@code raise_exception}
   */
  public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt,
      Map<String, ?> extraContext) {
    Objects.requireNonNull(messages, "messages");
    Map<String, Object> context = new LinkedHashMap<>(specialTokens);
    context.put("tools", null);
    context.put("documents", null);
    if (extraContext != null) {
      for (String reserved : List.of("messages", "add_generation_prompt")) {
        if (extraContext.containsKey(reserved)) {
          throw new IllegalArgumentException("extraContext must not set '" + reserved + "'; pass it as an argument");
        }
      }
      context.putAll(extraContext);
    }
    context.put("messages", messages);
    context.put("add_generation_prompt", addGenerationPrompt);
    return template.render(context, clock);
  }
}
