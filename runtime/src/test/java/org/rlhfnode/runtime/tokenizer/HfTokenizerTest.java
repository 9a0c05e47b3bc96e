package org.rlhfnode.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.util.Utils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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

  /**
   * Surefire already passes both properties, so this clears them and initializes a fresh copy of
   * HfTokenizer in its own class loader to see that its static initializer sets them.
   */
  @Test
  void classInitializationTurnsOnDjlOfflineModeAndTrackingOptOut() throws Exception {
    String offline = System.clearProperty("ai.djl.offline");
    String tracking = System.clearProperty("OPT_OUT_TRACKING");
    try {
      Class.forName(HfTokenizer.class.getName(), true, new FreshCopyLoader(HfTokenizer.class));
      assertEquals("true", System.getProperty("ai.djl.offline"));
      assertEquals("true", System.getProperty("OPT_OUT_TRACKING"));
      if (System.getenv("DJL_OFFLINE") == null) {
        assertTrue(Utils.isOfflineMode());
      }
    } finally {
      restore("ai.djl.offline", offline);
      restore("OPT_OUT_TRACKING", tracking);
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  /** Defines its own copy of one class and delegates every other class to the test's loader. */
  private static final class FreshCopyLoader extends ClassLoader {
    private final String name;

    FreshCopyLoader(Class<?> type) {
      super(type.getClassLoader());
      this.name = type.getName();
    }

    @Override
    protected Class<?> loadClass(String className, boolean resolve) throws ClassNotFoundException {
      if (!className.equals(name)) {
        return super.loadClass(className, resolve);
      }
      synchronized (getClassLoadingLock(className)) {
        Class<?> loaded = findLoadedClass(className);
        if (loaded != null) {
          return loaded;
        }
        try (InputStream in = getParent().getResourceAsStream(className.replace('.', '/') + ".class")) {
          byte[] bytes = in.readAllBytes();
          return defineClass(className, bytes, 0, bytes.length);
        } catch (IOException e) {
          throw new ClassNotFoundException(className, e);
        }
      }
    }
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
  void encodesConcurrentlyFromSeveralThreads() throws Exception {
    List<String> texts = List.of("alpha beta", "日本語のテキスト", "emoji 🤖 text", "def f(x):\n    return x");
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<long[]>> results = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        String text = texts.get(i % texts.size());
        results.add(pool.submit(() -> tokenizer.encode(text, false)));
      }
      for (int i = 0; i < results.size(); i++) {
        assertArrayEquals(tokenizer.encode(texts.get(i % texts.size()), false), results.get(i).get());
      }
    } finally {
      pool.shutdownNow();
    }
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
