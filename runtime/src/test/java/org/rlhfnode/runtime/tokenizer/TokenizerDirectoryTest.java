package org.rlhfnode.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.tokenizer.jinja.TemplateException;

/** How a model directory's files combine, using a tiny word-level tokenizer written by the test. */
class TokenizerDirectoryTest {
  private static final String WORD_LEVEL = """
      {
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [
          {"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
          {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
        ],
        "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
          "type": "TemplateProcessing",
          "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
          "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
          "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}
        },
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": {"<s>": 0, "</s>": 1, "<unk>": 2, "hello": 3, "world": 4, ",": 5},
                  "unk_token": "<unk>"}
      }
      """;

  private static Path modelDir(Path dir, String config) throws IOException {
    Files.writeString(dir.resolve("tokenizer.json"), WORD_LEVEL);
    if (config != null) {
      Files.writeString(dir.resolve("tokenizer_config.json"), config);
    }
    return dir;
  }

  @Test
  void readsSpecialTokensGivenAsAddedTokenObjects(@TempDir Path tmp) throws IOException {
    String config = "{\"bos_token\": {\"__type\": \"AddedToken\", \"content\": \"<s>\"}, \"eos_token\": \"</s>\", "
        + "\"pad_token\": null, \"add_bos_token\": true}";
    try (HfTokenizer t = HfTokenizer.load(modelDir(tmp, config))) {
      assertEquals(OptionalLong.of(0), t.bosTokenId());
      assertEquals(OptionalLong.of(1), t.eosTokenId());
      assertEquals(OptionalLong.empty(), t.padTokenId());
      assertEquals(java.util.Optional.of(true), t.addBosToken());
      assertEquals(Map.of("bos_token", "<s>", "eos_token", "</s>"), t.specialTokens());
      assertEquals(6, t.vocabSize());
    }
  }

  @Test
  void addSpecialTokensFollowsTheTokenizersPostProcessor(@TempDir Path tmp) throws IOException {
    try (HfTokenizer t = HfTokenizer.load(modelDir(tmp, null))) {
      assertArrayEquals(new long[] {0, 3, 4}, t.encode("hello world", true));
      assertArrayEquals(new long[] {3, 4}, t.encode("hello world", false));
      assertArrayEquals(new long[] {2}, t.encode("unknown", false));
    }
  }

  @Test
  void cleansUpTokenizationSpacesOnlyWhenTheConfigAsks(@TempDir Path tmp) throws IOException {
    long[] ids = {3, 5, 4};
    try (HfTokenizer plain = HfTokenizer.load(modelDir(tmp, "{}"))) {
      assertEquals("hello , world", plain.decode(ids, false));
    }
    Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"clean_up_tokenization_spaces\": true}");
    try (HfTokenizer cleaned = HfTokenizer.load(tmp)) {
      assertEquals("hello, world", cleaned.decode(ids, false));
    }
  }

  @Test
  void picksTheDefaultOfNamedTemplatesAndLetsChatTemplateJinjaOverrideIt(@TempDir Path tmp) throws IOException {
    String config = "{\"chat_template\": [{\"name\": \"default\", \"template\": \"D\"}, "
        + "{\"name\": \"tool_use\", \"template\": \"T{{ tools|length }}\"}]}";
    try (HfTokenizer t = HfTokenizer.load(modelDir(tmp, config))) {
      assertEquals("D", t.applyChatTemplate(List.of(), false, null));
      assertEquals("T1", t.chatTemplate("tool_use").orElseThrow().render(List.of(), false, Map.of("tools", List.of(1))));
    }
    Files.writeString(tmp.resolve("chat_template.jinja"), "from file {{ eos_token is defined }}\n");
    try (HfTokenizer t = HfTokenizer.load(tmp)) {
      assertEquals("from file False", t.applyChatTemplate(List.of(), false, null));
    }
  }

  @Test
  void missingChatTemplateIsReportedWithTheDirectory(@TempDir Path tmp) throws IOException {
    try (HfTokenizer t = HfTokenizer.load(modelDir(tmp, "{}"))) {
      assertTrue(t.chatTemplate().isEmpty());
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.applyChatTemplate(List.of(), true, null));
      assertTrue(e.getMessage().contains(tmp.toString()), e.getMessage());
    }
  }

  @Test
  void brokenChatTemplateDoesNotPreventEncodingButFailsWhenUsed(@TempDir Path tmp) throws IOException {
    String config = new ObjectMapper().writeValueAsString(Map.of("chat_template", "ok\n{{ x | wordwrap }}"));
    try (HfTokenizer t = HfTokenizer.load(modelDir(tmp, config))) {
      assertArrayEquals(new long[] {3}, t.encode("hello", false));
      TemplateException e = assertThrows(TemplateException.class, t::chatTemplate);
      assertEquals(2, e.line());
      assertTrue(e.getMessage().contains("unsupported filter 'wordwrap'") && e.getMessage().contains(tmp.toString()),
          e.getMessage());
    }
  }

  @Test
  void readsUnigramVocabularyListsByPosition(@TempDir Path tmp) throws IOException {
    Path file = tmp.resolve("tokenizer.json");
    Files.writeString(file, "{\"added_tokens\": [{\"id\": 3, \"content\": \"<pad>\"}], \"model\": {\"type\": \"Unigram\", "
        + "\"unk_id\": 0, \"vocab\": [[\"<unk>\", 0.0], [\"▁a\", -1.5], [\"b\", -2.0]]}}");
    Vocabulary v = Vocabulary.read(file, new ObjectMapper().getFactory());
    assertEquals(OptionalLong.of(1), v.id("▁a"));
    assertEquals(OptionalLong.of(3), v.id("<pad>"));
    assertEquals(4, v.size());
  }
}
