package org.rlhfnode.runtime.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import org.rlhfnode.runtime.tokenizer.jinja.TemplateException;

/**
 * A HuggingFace tokenizer loaded from a local model directory: {@code tokenizer.json} through DJL's
 * bindings to the Rust {@code tokenizers} library, plus {@code tokenizer_config.json} for special
 * tokens and the chat template. Encoding never truncates or pads (DJL truncates to 512 tokens by
 * default). Encode and decode are thread-safe; {@link #close()} frees the native tokenizer.
 */
public final class HfTokenizer implements AutoCloseable {
  static {
    // DJL reads these on every tokenizer creation (Utils.isOfflineMode, Ec2Utils.callHome); without
    // them each load tries an HTTP call for telemetry. Environment variables DJL_OFFLINE and
    // OPT_OUT_TRACKING take precedence over these properties in DJL.
    System.setProperty("ai.djl.offline", "true");
    System.setProperty("OPT_OUT_TRACKING", "true");
  }

  static final String TOKENIZER_FILE = "tokenizer.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path directory;
  private final HuggingFaceTokenizer tokenizer;
  private final Vocabulary vocabulary;
  private final TokenizerSettings settings;
  private final Map<String, ChatTemplate> templates;
  private final Map<String, TemplateException> templateErrors;

  private HfTokenizer(Path directory, HuggingFaceTokenizer tokenizer, Vocabulary vocabulary,
      TokenizerSettings settings) {
    this.directory = directory;
    this.tokenizer = tokenizer;
    this.vocabulary = vocabulary;
    this.settings = settings;
    this.templates = new LinkedHashMap<>();
    this.templateErrors = new LinkedHashMap<>();
    settings.chatTemplates().forEach((name, source) -> {
      try {
        templates.put(name, ChatTemplate.compile(source, settings.specialTokens()));
      } catch (TemplateException e) {
        templateErrors.put(name, e);
      }
    });
  }

  /**
   * Loads the tokenizer in {@code modelDir}. A missing directory or {@code tokenizer.json}, or a
   * file that is not valid JSON, is an {@link IllegalArgumentException} naming the file. A chat
   * template that does not compile does not stop loading; it is reported when the template is used.
   */
  /** The files that make up a HuggingFace tokenizer in a model directory. */
  public static final java.util.List<String> FILES =
      java.util.List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja");

  /** Copies the tokenizer files present in {@code from} into {@code to} (e.g. next to saved weights). */
  public static void copyFiles(Path from, Path to) {
    try {
      for (String name : FILES) {
        if (java.nio.file.Files.exists(from.resolve(name))) {
          java.nio.file.Files.copy(from.resolve(name), to.resolve(name),
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot copy tokenizer files to " + to + ": " + e.getMessage(), e);
    }
  }

  public static HfTokenizer load(Path modelDir) {
    Objects.requireNonNull(modelDir, "modelDir");
    if (!Files.isDirectory(modelDir)) {
      String problem = Files.exists(modelDir) ? " is not a directory" : " does not exist";
      throw new IllegalArgumentException("tokenizer directory " + modelDir + problem);
    }
    Path file = modelDir.resolve(TOKENIZER_FILE);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("tokenizer file " + file + " does not exist");
    }
    Vocabulary vocabulary = Vocabulary.read(file, JSON.getFactory());
    TokenizerSettings settings = TokenizerSettings.load(modelDir, JSON);
    return new HfTokenizer(modelDir, openNative(file), vocabulary, settings);
  }

  private static HuggingFaceTokenizer openNative(Path file) {
    Map<String, String> options = Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true");
    try (InputStream in = Files.newInputStream(file)) {
      // The stream overload skips DJL's own tokenizer_config handling, which would otherwise
      // re-apply add_prefix_space and clean-up rules on top of tokenizer.json.
      return HuggingFaceTokenizer.newInstance(in, options);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("tokenizer file " + file + " was rejected by the tokenizers library: "
          + firstLine(e.getMessage()), e);
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "no details";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  public Path directory() {
    return directory;
  }

  /** Token ids of {@code text}; with {@code addSpecialTokens} the post-processor's BOS/EOS are added. */
  public long[] encode(String text, boolean addSpecialTokens) {
    Objects.requireNonNull(text, "text");
    return tokenizer.encode(text, addSpecialTokens, false).getIds();
  }

  /**
   * Text of {@code ids}. Like transformers, spaces before punctuation are cleaned up only when the
   * config sets {@code clean_up_tokenization_spaces}.
   */
  public String decode(long[] ids, boolean skipSpecialTokens) {
    String text = tokenizer.decode(ids, skipSpecialTokens);
    return settings.cleanUpTokenizationSpaces() ? cleanUpTokenization(text) : text;
  }

  /** transformers' {@code clean_up_tokenization}. */
  static String cleanUpTokenization(String text) {
    return text.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
        .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
        .replace(" 've", "'ve").replace(" 're", "'re");
  }

  /** Number of distinct token ids, counting added tokens (HF's {@code len(tokenizer)}). */
  public int vocabSize() {
    return vocabulary.size();
  }

  /** Id of a token as written in the vocabulary (byte-level BPE spells a leading space as "Ġ"). */
  public OptionalLong tokenId(String token) {
    return vocabulary.id(token);
  }

  public Optional<String> bosToken() {
    return specialToken("bos_token");
  }

  public Optional<String> eosToken() {
    return specialToken("eos_token");
  }

  public Optional<String> padToken() {
    return specialToken("pad_token");
  }

  public OptionalLong bosTokenId() {
    return idOf(bosToken());
  }

  public OptionalLong eosTokenId() {
    return idOf(eosToken());
  }

  public OptionalLong padTokenId() {
    return idOf(padToken());
  }

  /** {@code add_bos_token} from tokenizer_config.json when set; encoding follows tokenizer.json. */
  public Optional<Boolean> addBosToken() {
    return Optional.ofNullable(settings.addBosToken());
  }

  /** HF's special_tokens_map: the special tokens the config defines, as templates see them. */
  public Map<String, Object> specialTokens() {
    return settings.specialTokens();
  }

  private Optional<String> specialToken(String key) {
    Object token = settings.specialTokens().get(key);
    return token instanceof String s ? Optional.of(s) : Optional.empty();
  }

  private OptionalLong idOf(Optional<String> token) {
    return token.isPresent() ? tokenId(token.get()) : OptionalLong.empty();
  }

  /** The default chat template, if the model has one; throws if it exists but does not compile. */
  public Optional<ChatTemplate> chatTemplate() {
    return chatTemplate(TokenizerSettings.DEFAULT_TEMPLATE);
  }

  /** A named chat template (tokenizer_config.json may list several, e.g. "tool_use"). */
  public Optional<ChatTemplate> chatTemplate(String name) {
    TemplateException error = templateErrors.get(name);
    if (error != null) {
      throw new TemplateException(error.line(), error.detail() + " (chat template '" + name + "' of " + directory + ")");
    }
    return Optional.ofNullable(templates.get(name));
  }

  /**
   * Renders the default chat template, as {@code apply_chat_template(tokenize=False)} does.
   *
   * @throws IllegalStateException if the tokenizer has no default chat template
   */
  public String applyChatTemplate(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt,
      Map<String, ?> extraContext) {
    ChatTemplate template = chatTemplate().orElseThrow(() -> new IllegalStateException(
        "tokenizer in " + directory + " has no default chat template" + namedTemplates()));
    return template.render(messages, addGenerationPrompt, extraContext);
  }

  private String namedTemplates() {
    return templates.isEmpty() ? "" : " (named templates: " + String.join(", ", templates.keySet()) + ")";
  }

  /**
   * Renders the chat template and encodes the prompt without adding special tokens again, as
   * {@code apply_chat_template(tokenize=True)} does: the template already writes BOS where needed.
   */
  public long[] encodeChat(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt,
      Map<String, ?> extraContext) {
    return encode(applyChatTemplate(messages, addGenerationPrompt, extraContext), false);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
