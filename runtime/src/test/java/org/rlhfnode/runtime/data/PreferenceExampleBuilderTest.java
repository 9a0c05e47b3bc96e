package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.data.DataTestSupport.EOS;
import static org.rlhfnode.runtime.data.DataTestSupport.IM_START;
import static org.rlhfnode.runtime.data.DataTestSupport.bytes;
import static org.rlhfnode.runtime.data.DataTestSupport.concat;
import static org.rlhfnode.runtime.data.DataTestSupport.record;

import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;

/** Preference pairs, KTO examples and generation prompts on the tiny-llama tokenizer. */
class PreferenceExampleBuilderTest {
  private static final long[] END = {EOS};
  private static HfTokenizer hf;
  private static TokenizerView tok;

  @BeforeAll
  static void load() {
    hf = DataTestSupport.tinyLlama();
    tok = TokenizerView.of(hf);
  }

  @AfterAll
  static void close() {
    hf.close();
  }

  private static ExampleBuilder builder(DataOptions.Builder b) {
    return new ExampleBuilder(b.build(), tok);
  }

  /** ChatML text "<|im_start|>{role}\n{content}<|im_end|>\n" as ids. */
  private static long[] turn(String role, String content) {
    return concat(new long[] {IM_START}, bytes(role + "\n" + content), END, bytes("\n"));
  }

  private static long[] generationPrompt() {
    return concat(new long[] {IM_START}, bytes("assistant\n"));
  }

  @Test
  void textPairWithPromptKeyAndMarginSplitsPromptAndResponses() {
    ExampleBuilder b = builder(DataOptions.builder().promptKey("prompt").inputTemplate("Q: {}\nA: "));
    PairExample p = b.pair(record("{\"prompt\":\"x\",\"chosen\":\"ab\",\"rejected\":\"c\",\"margin\":0.5}"))
        .orElseThrow();
    assertArrayEquals(bytes("Q: x\nA: "), p.promptIds());
    assertArrayEquals(concat(bytes("ab"), END), p.chosenIds());
    assertArrayEquals(concat(bytes("c"), END), p.rejectedIds());
    assertEquals(0.5, p.margin());
    SftExample chosen = p.chosen();
    assertArrayEquals(concat(bytes("Q: x\nA: ab"), END), chosen.ids());
    assertArrayEquals(new int[] {7, 8, 9}, chosen.targetPositions());
  }

  @Test
  void pairWithoutPromptKeyHasEmptyPromptAndZeroMargin() {
    ExampleBuilder b = builder(DataOptions.builder());
    PairExample p = b.pair(record("{\"chosen\":\"good\",\"rejected\":\"bad\",\"margin\":null}")).orElseThrow();
    assertEquals(0, p.promptIds().length);
    assertArrayEquals(concat(bytes("good"), END), p.chosenIds());
    assertEquals(0.0, p.margin());
  }

  @Test
  void chatPairWithBareStringsUsesOneUserTurnAndAssistantResponses() {
    ExampleBuilder b = builder(DataOptions.builder().applyChatTemplate(true).promptKey("prompt"));
    PairExample p = b.pair(record("{\"prompt\":\"Hi\",\"chosen\":\"Yo\",\"rejected\":\"No\"}")).orElseThrow();
    assertArrayEquals(concat(turn("user", "Hi"), generationPrompt()), p.promptIds());
    assertArrayEquals(concat(bytes("Yo"), END), p.chosenIds());
    assertArrayEquals(concat(bytes("No"), END), p.rejectedIds());
  }

  @Test
  void chatPairWithoutPromptKeyTakesAllButTheLastMessageAsPrompt() {
    ExampleBuilder b = builder(DataOptions.builder().applyChatTemplate(true));
    String user = "{\"role\":\"user\",\"content\":\"Hi\"}";
    PairExample p = b.pair(record("{\"chosen\":[" + user + ",{\"role\":\"assistant\",\"content\":\"Yo\"}],"
        + "\"rejected\":[" + user + ",{\"role\":\"assistant\",\"content\":\"No\"}]}")).orElseThrow();
    assertArrayEquals(concat(turn("user", "Hi"), generationPrompt()), p.promptIds());
    assertArrayEquals(concat(bytes("No"), END), p.rejectedIds());
  }

  @Test
  void chatPairWhoseConversationsDoNotShareThePromptIsAnError() {
    ExampleBuilder b = builder(DataOptions.builder().applyChatTemplate(true));
    DataFormatException e = assertThrows(DataFormatException.class, () -> b.pair(record(4,
        "{\"chosen\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Yo\"}],"
        + "\"rejected\":[{\"role\":\"user\",\"content\":\"Bye\"},{\"role\":\"assistant\",\"content\":\"No\"}]}")));
    assertEquals("mem.jsonl:4: the chat template does not render the prompt as a prefix of the rejected conversation",
        e.getMessage());
  }

  @Test
  void pairResponsesAreCutWithThePromptToMaxLen() {
    ExampleBuilder b = builder(DataOptions.builder().promptKey("prompt").maxLen(5));
    PairExample p = b.pair(record("{\"prompt\":\"pq\",\"chosen\":\"abcdef\",\"rejected\":\"z\"}")).orElseThrow();
    assertArrayEquals(new long[] {5 + 'a', 5 + 'b', EOS}, p.chosenIds());
    assertArrayEquals(new long[] {5 + 'z', EOS}, p.rejectedIds());
    assertEquals(Optional.empty(), b.pair(record("{\"prompt\":\"pqr\",\"chosen\":\"a\",\"rejected\":\"z\"}")));
  }

  @Test
  void marginOfTheWrongTypeIsAnError() {
    ExampleBuilder b = builder(DataOptions.builder());
    DataFormatException e = assertThrows(DataFormatException.class,
        () -> b.pair(record(9, "{\"chosen\":\"a\",\"rejected\":\"b\",\"margin\":\"big\"}")));
    assertEquals("mem.jsonl:9: margin_key 'margin' must be a finite number, got string", e.getMessage());
  }

  @Test
  void ktoExampleCarriesPromptCompletionAndLabel() {
    ExampleBuilder b = builder(DataOptions.sftBuilder().outputKey("output"));
    KtoExample k = b.kto(record("{\"input\":\"x\",\"output\":\"ab\",\"label\":false}")).orElseThrow();
    assertArrayEquals(bytes("User: x\nAssistant: "), k.promptIds());
    assertArrayEquals(concat(bytes("ab"), END), k.completionIds());
    assertFalse(k.desirable());
    assertTrue(b.kto(record("{\"input\":\"x\",\"output\":\"ab\",\"label\":1}")).orElseThrow().desirable());
    DataFormatException e = assertThrows(DataFormatException.class,
        () -> b.kto(record(5, "{\"input\":\"x\",\"output\":\"ab\",\"label\":\"yes\"}")));
    assertEquals("mem.jsonl:5: label_key 'label' must be true/false (or 1/0), got string", e.getMessage());
  }

  @Test
  void ktoChatWithoutOutputKeyUsesTheLastMessageAsCompletion() {
    ExampleBuilder b = builder(DataOptions.builder().applyChatTemplate(true));
    KtoExample k = b.kto(record("{\"input\":[{\"role\":\"user\",\"content\":\"Hi\"},"
        + "{\"role\":\"assistant\",\"content\":\"Yo\"}],\"label\":true}")).orElseThrow();
    assertArrayEquals(concat(turn("user", "Hi"), generationPrompt()), k.promptIds());
    assertArrayEquals(concat(bytes("Yo"), END), k.completionIds());
  }

  @Test
  void generationPromptUsesTheChatTemplateWithGenerationPrompt() {
    ExampleBuilder b = builder(DataOptions.builder().applyChatTemplate(true));
    PromptExample p = b.prompt(record("{\"input\":\"Hi\",\"label\":\"42\"}"));
    assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", p.text());
    assertArrayEquals(concat(turn("user", "Hi"), generationPrompt()), p.ids());
    assertEquals("42", p.label());
    PromptExample plain = builder(DataOptions.sftBuilder()).prompt(record("{\"input\":\"Hi\"}"));
    assertEquals("User: Hi\nAssistant: ", plain.text());
    assertEquals("", plain.label());
  }
}
