package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.data.DataTestSupport.EOS;
import static org.rlhfnode.runtime.data.DataTestSupport.IM_START;
import static org.rlhfnode.runtime.data.DataTestSupport.bytes;
import static org.rlhfnode.runtime.data.DataTestSupport.concat;
import static org.rlhfnode.runtime.data.DataTestSupport.record;

import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;

/** SFT, multi-turn and pretraining examples on the real tiny-llama tokenizer, masks checked by hand. */
class SftExampleBuilderTest {
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

  @Test
  void tinyLlamaEncodesOneTokenPerByteAndSpecialTokensWhole() {
    assertArrayEquals(bytes("Hi \n"), tok.encode("Hi \n", false));
    assertArrayEquals(new long[] {IM_START, 5 + 'a', EOS}, tok.encode("<|im_start|>a<|im_end|>", false));
    assertEquals(EOS, tok.requireEos());
  }

  @Test
  void singleTurnMasksThePromptAndTargetsResponseAndAppendedEos() {
    ExampleBuilder b = builder(DataOptions.sftBuilder().outputKey("output"));
    SftExample e = b.sft(record("{\"input\":\"Hi\",\"output\":\"Yo\"}")).orElseThrow();
    long[] prompt = bytes("User: Hi\nAssistant: "); // 20 tokens, indices 0..19
    assertEquals(20, prompt.length);
    assertArrayEquals(concat(prompt, bytes("Yo"), new long[] {EOS}), e.ids());
    assertEquals(22, e.lossMask().length);
    // targets are tokens 20 ('Y'), 21 ('o'), 22 (EOS) -> shifted entries 19, 20, 21
    assertArrayEquals(new int[] {19, 20, 21}, e.targetPositions());
  }

  @Test
  void eosIsAppendedOnlyWhenMissingAndTrailingNewlinesAreStripped() {
    ExampleBuilder b = builder(DataOptions.builder().outputKey("output"));
    SftExample plain = b.sft(record("{\"input\":\"Q\",\"output\":\"ab\\n\\n\"}")).orElseThrow();
    assertArrayEquals(concat(bytes("Qab"), new long[] {EOS}), plain.ids());
    SftExample withEos = b.sft(record("{\"input\":\"Q\",\"output\":\"ab<|im_end|>\\n\"}")).orElseThrow();
    assertArrayEquals(concat(bytes("Qab"), new long[] {EOS}), withEos.ids());
    assertArrayEquals(new int[] {0, 1, 2}, withEos.targetPositions());
  }

  @Test
  void truncationCutsToMaxLenAndOverwritesTheLastTokenWithEos() {
    ExampleBuilder b = builder(DataOptions.builder().outputKey("output").maxLen(6));
    SftExample e = b.sft(record("{\"input\":\"Q\",\"output\":\"abcdefghij\"}")).orElseThrow();
    // Q a b c d e ... -> first 6 tokens, 'e' replaced by EOS
    assertArrayEquals(concat(bytes("Qabcd"), new long[] {EOS}), e.ids());
    assertArrayEquals(new int[] {0, 1, 2, 3, 4}, e.targetPositions());
  }

  @Test
  void examplesWhosePromptLeavesNoRoomAreDroppedAsOpenRlhfDoes() {
    ExampleBuilder b = builder(DataOptions.builder().outputKey("output").maxLen(6));
    // prompt of 4 tokens >= max_len - 2 = 4 is dropped; 3 tokens is kept with 2 response tokens + EOS
    assertEquals(Optional.empty(), b.sft(record("{\"input\":\"abcd\",\"output\":\"xyz\"}")));
    SftExample kept = b.sft(record("{\"input\":\"abc\",\"output\":\"xyz\"}")).orElseThrow();
    assertArrayEquals(concat(bytes("abcxy"), new long[] {EOS}), kept.ids());
    assertArrayEquals(new int[] {2, 3, 4}, kept.targetPositions());
  }

  @Test
  void multiTurnChatTargetsEveryAssistantSpanExactly() {
    ExampleBuilder b = builder(DataOptions.builder().applyChatTemplate(true));
    SftExample e = b.sft(record("{\"input\":[{\"role\":\"user\",\"content\":\"Hi\"},"
        + "{\"role\":\"assistant\",\"content\":\"Yo\"},{\"role\":\"user\",\"content\":\"Ok\"},"
        + "{\"role\":\"assistant\",\"content\":\"Go\"}]}")).orElseThrow();
    long[] s = {IM_START};
    long[] end = {EOS};
    long[] expected = concat(s, bytes("user\nHi"), end, bytes("\n"), s, bytes("assistant\nYo"), end, bytes("\n"),
        s, bytes("user\nOk"), end, bytes("\n"), s, bytes("assistant\nGo"), end);
    assertArrayEquals(expected, e.ids());
    assertEquals(49, e.length());
    // token 21..24 = "Yo<|im_end|>\n" and 46..48 = "Go<|im_end|>" (final newline stripped)
    assertArrayEquals(new int[] {20, 21, 22, 23, 45, 46, 47}, e.targetPositions());
  }

  @Test
  void chatPromptResponseWithBareStringsIsOneUserAndOneAssistantTurn() {
    ExampleBuilder b = builder(DataOptions.builder().applyChatTemplate(true).outputKey("output"));
    SftExample e = b.sft(record("{\"input\":\"Hi\",\"output\":\"Yo\"}")).orElseThrow();
    long[] prompt = concat(new long[] {IM_START}, bytes("user\nHi"), new long[] {EOS}, bytes("\n"),
        new long[] {IM_START}, bytes("assistant\n"));
    assertArrayEquals(concat(prompt, bytes("Yo"), new long[] {EOS}), e.ids());
    int p = prompt.length;
    assertArrayEquals(new int[] {p - 1, p, p + 1}, e.targetPositions());
  }

  @Test
  void chatTruncationKeepsEarlierSpansAndForcesEos() {
    ExampleBuilder b = builder(DataOptions.builder().applyChatTemplate(true).maxLen(24));
    SftExample e = b.sft(record("{\"input\":[{\"role\":\"user\",\"content\":\"Hi\"},"
        + "{\"role\":\"assistant\",\"content\":\"Yo\"},{\"role\":\"user\",\"content\":\"Ok\"},"
        + "{\"role\":\"assistant\",\"content\":\"Go\"}]}")).orElseThrow();
    assertEquals(24, e.length());
    assertEquals(EOS, e.ids()[23]);
    assertArrayEquals(new int[] {20, 21, 22}, e.targetPositions());
  }

  @Test
  void pretrainingTargetsEveryTokenAndCutsWithoutEos() {
    ExampleBuilder b = builder(DataOptions.sftBuilder().pretrainMode(true).maxLen(5));
    SftExample e = b.sft(record("{\"input\":\"abcdefgh\"}")).orElseThrow();
    assertArrayEquals(bytes("abcde"), e.ids());
    assertArrayEquals(new int[] {0, 1, 2, 3}, e.targetPositions());
    SftExample shortText = b.sft(record("{\"input\":\"ab\\n\"}")).orElseThrow();
    assertArrayEquals(bytes("ab\n"), shortText.ids());
    assertEquals(2, shortText.targetCount());
  }

  @Test
  void conversationWithoutAssistantTurnIsAnError() {
    ExampleBuilder b = builder(DataOptions.builder().applyChatTemplate(true));
    DataFormatException e = assertThrows(DataFormatException.class,
        () -> b.sft(record(7, "{\"input\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")));
    assertEquals("mem.jsonl:7: input_key 'input' has no assistant message to learn from", e.getMessage());
  }

  @Test
  void chatMessagesWithoutApplyChatTemplateAreAnError() {
    ExampleBuilder b = builder(DataOptions.builder().outputKey("output"));
    DataFormatException e = assertThrows(DataFormatException.class,
        () -> b.sft(record(3, "{\"input\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"output\":\"x\"}")));
    assertTrue(e.getMessage().startsWith("mem.jsonl:3: input_key 'input' holds a list of chat messages"),
        e.getMessage());
  }

  @Test
  void qwen3SingleAssistantTurnTargetsTheThinkBlockAndAnswer() {
    try (HfTokenizer q = DataTestSupport.qwen3()) {
      TokenizerView view = TokenizerView.of(q);
      ExampleBuilder b = new ExampleBuilder(DataOptions.builder().applyChatTemplate(true).build(), view);
      SftExample e = b.sft(record("{\"input\":[{\"role\":\"user\",\"content\":\"Hello\"},"
          + "{\"role\":\"assistant\",\"content\":\"Hi there\"}]}")).orElseThrow();
      String prompt = "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n";
      long[] promptIds = q.encode(prompt, false);
      long[] response = q.encode("<think>\n\n</think>\n\nHi there<|im_end|>", false);
      assertArrayEquals(concat(promptIds, response), e.ids());
      assertEquals(q.eosTokenId().getAsLong(), e.ids()[e.length() - 1]);
      int[] expected = IntStream.range(promptIds.length - 1, e.length() - 1).toArray();
      assertArrayEquals(expected, e.targetPositions());
    }
  }

  @Test
  void qwen3TemplateThatRewritesEarlierTurnsIsRefusedForMultiTurn() {
    try (HfTokenizer q = DataTestSupport.qwen3()) {
      ExampleBuilder b = new ExampleBuilder(DataOptions.builder().applyChatTemplate(true).build(),
          TokenizerView.of(q));
      DataFormatException e = assertThrows(DataFormatException.class, () -> b.sft(record(2,
          "{\"input\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},"
          + "{\"role\":\"user\",\"content\":\"c\"},{\"role\":\"assistant\",\"content\":\"d\"}]}")));
      assertTrue(e.getMessage().startsWith("mem.jsonl:2: the chat template does not render conversation prefixes"),
          e.getMessage());
    }
  }
}
