package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;

/** Tokenizers, records and files for the data tests. */
final class DataTestSupport {
  static final ObjectMapper JSON = new ObjectMapper();
  /** tiny-llama: ids 0 &lt;pad&gt;, 1 &lt;s&gt;, 2 &lt;/s&gt;, 3 &lt;|im_start|&gt;, 4 &lt;|im_end|&gt; (its EOS); byte b is b + 5. */
  static final long PAD = 0;
  static final long IM_START = 3;
  static final long EOS = 4;

  private DataTestSupport() {}

  /** The bundled tiny Llama tokenizer (byte-level, no merges, ChatML template). */
  static HfTokenizer tinyLlama() {
    String repo = System.getProperty("rlhf.repo", "..");
    Path dir = Path.of(repo).resolve("examples/tiny-llama");
    assertTrue(Files.isDirectory(dir), "tiny-llama not found at " + dir + " (set -Drlhf.repo)");
    return HfTokenizer.load(dir);
  }

  /** The Qwen3 tokenizer fixture. */
  static HfTokenizer qwen3() {
    Path dir = Path.of(System.getProperty("rlhf.fixtures", "../../shared/fixtures"), "tokenizers", "qwen3");
    assertTrue(Files.isDirectory(dir), "qwen3 fixture not found at " + dir + " (set -Drlhf.fixtures)");
    return HfTokenizer.load(dir);
  }

  /** tiny-llama ids of ASCII text: one token per byte, id = byte + 5. */
  static long[] bytes(String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    long[] ids = new long[b.length];
    for (int i = 0; i < b.length; i++) {
      ids[i] = (b[i] & 0xFF) + 5;
    }
    return ids;
  }

  /** Concatenation of id arrays. */
  static long[] concat(long[]... parts) {
    int n = 0;
    for (long[] p : parts) {
      n += p.length;
    }
    long[] out = new long[n];
    int at = 0;
    for (long[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  /** A record parsed from JSON, said to come from line {@code line} of "mem.jsonl". */
  static JsonRecord record(int line, String json) {
    try {
      return new JsonRecord(Path.of("mem.jsonl"), line, (ObjectNode) JSON.readTree(json));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** A record from line 1. */
  static JsonRecord record(String json) {
    return record(1, json);
  }

  /** Writes {@code lines} (joined by newlines) to {@code dir/name}. */
  static Path write(Path dir, String name, String... lines) {
    try {
      Path file = dir.resolve(name);
      Files.createDirectories(file.getParent());
      Files.writeString(file, String.join("\n", lines) + "\n");
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code n} records {"input": prefix + i, "output": "r" + i}. */
  static List<JsonRecord> numbered(String file, String prefix, int n) {
    List<JsonRecord> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      ObjectNode o = JSON.createObjectNode().put("input", prefix + i).put("output", "r" + i);
      out.add(new JsonRecord(Path.of(file), i + 1, o));
    }
    return out;
  }

  /**
   * A character tokenizer for pure mixing and batching tests: each char c becomes c, EOS is 2, pad 0;
   * the "chat template" writes "[role]content|" per message.
   */
  static TokenizerView charTokenizer() {
    return new TokenizerView() {
      @Override
      public long[] encode(String text, boolean addSpecialTokens) {
        return text.chars().mapToLong(c -> c).toArray();
      }

      @Override
      public String applyChatTemplate(List<Map<String, Object>> messages, boolean addGenerationPrompt,
          Map<String, Object> extraContext) {
        StringBuilder sb = new StringBuilder();
        messages.forEach(m -> sb.append('[').append(m.get("role")).append(']').append(m.get("content")).append('|'));
        return addGenerationPrompt ? sb.append("[assistant]").toString() : sb.toString();
      }

      @Override
      public OptionalLong eosTokenId() {
        return OptionalLong.of(2);
      }

      @Override
      public OptionalLong padTokenId() {
        return OptionalLong.of(0);
      }
    };
  }
}
