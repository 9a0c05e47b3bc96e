package org.rlhfnode.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HfTokenizerTest {
  private static final long IM_START = 151644;
  private static final long IM_END = 151645;
  private static final long ENDOFTEXT = 151643;

  private HfTokenizer tokenizer;

  @BeforeAll
  void load() {
    tokenizer = HfTokenizer.load(Fixtures.qwen3());
  }

  @AfterAll
  void close() {
    tokenizer.close();
  }

  @Test
  void setsDjlOfflineAndTrackingOptOutWhenLoaded() {
    assertEquals("true", System.getProperty("ai.djl.offline"));
    assertEquals("true", System.getProperty("OPT_OUT_TRACKING"));
  }

  @Test
  void encodesChatMarkersAsSingleSpecialTokens() {
    String prompt = tokenizer.applyChatTemplate(List.of(Map.of("role", "user", "content", "What is 2+3?")), true, null);
    long[] ids = tokenizer.encode(prompt, false);
    assertEquals(IM_START, ids[0]);
    assertEquals(2, Arrays.stream(ids).filter(id -> id == IM_START).count());
    assertEquals(1, Arrays.stream(ids).filter(id -> id == IM_END).count());
    assertEquals(prompt, tokenizer.decode(ids, false));
    assertArrayEquals(ids, tokenizer.encodeChat(List.of(Map.of("role", "user", "content", "What is 2+3?")), true, null));
  }

  @Test
  void specialTokenIdsComeFromTheConfigAndVocabulary() {
    assertEquals(OptionalLong.of(IM_END), tokenizer.eosTokenId());
    assertEquals(OptionalLong.of(ENDOFTEXT), tokenizer.padTokenId());
    assertEquals(OptionalLong.empty(), tokenizer.bosTokenId());
    assertEquals(OptionalLong.of(IM_START), tokenizer.tokenId("<|im_start|>"));
    assertEquals(OptionalLong.empty(), tokenizer.tokenId("<|no_such_token|>"));
    assertEquals(java.util.Optional.of(false), tokenizer.addBosToken());
  }

  @Test
  void vocabSizeCountsModelVocabularyAndAddedTokens() {
    assertEquals(151_669, tokenizer.vocabSize());
  }

  @Test
  void decodeInvertsEncodeForAsciiCjkAndEmoji() {
    for (String text : List.of("Hello, world! It's 2+3=5.", "日本語で答えて: こんにちは", "emoji 👋🏽 and 🤖 mixed 中文",
        "  leading and trailing spaces  ", "tabs\tand\nnewlines\r\n")) {
      assertEquals(text, tokenizer.decode(tokenizer.encode(text, true), false), text);
    }
  }

  @Test
  void doesNotTruncateLongInputs() {
    String text = "token ".repeat(1000);
    long[] ids = tokenizer.encode(text, true);
    assertTrue(ids.length > 600, "got only " + ids.length + " ids");
    assertEquals(text, tokenizer.decode(ids, false));
  }

  /** Documents why HfTokenizer passes truncation=false: DJL's own default cuts inputs at 512 ids. */
  @Test
  void djlDefaultOptionsWouldTruncateTo512Tokens() throws IOException {
    try (InputStream in = Files.newInputStream(Fixtures.qwen3().resolve("tokenizer.json"));
        HuggingFaceTokenizer djl = HuggingFaceTokenizer.newInstance(in, Map.of())) {
      assertEquals(512, djl.encode("token ".repeat(1000)).getIds().length);
    }
  }

  @Test
  void skipSpecialTokensDropsChatMarkers() {
    long[] ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>", false);
    assertEquals(IM_START, ids[0]);
    assertEquals("user\nhi", tokenizer.decode(ids, true));
  }

  @Test
  void missingDirectoryIsReportedWithItsPath(@TempDir Path tmp) {
    Path missing = tmp.resolve("nope");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(missing));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  @Test
  void missingTokenizerJsonIsReportedWithItsPath(@TempDir Path tmp) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp));
    assertTrue(e.getMessage().contains(tmp.resolve("tokenizer.json").toString()), e.getMessage());
  }

  @Test
  void corruptTokenizerJsonIsReportedOnOneLine(@TempDir Path tmp) throws IOException {
    Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"vocab\": ");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp));
    assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void corruptTokenizerConfigIsReportedWithItsPath(@TempDir Path tmp) throws IOException {
    Files.copy(Fixtures.qwen3().resolve("tokenizer.json"), tmp.resolve("tokenizer.json"));
    Files.writeString(tmp.resolve("tokenizer_config.json"), "{ not json");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp));
    assertTrue(e.getMessage().contains("tokenizer_config.json"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }
}
