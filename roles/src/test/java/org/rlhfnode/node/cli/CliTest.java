package org.rlhfnode.node.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI contracts (`forward`, `generate`, `init-model`) and the one-line error policy, in-process. */
public class CliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Exit code, stdout and stderr of one CLI run. */
  public record Run(int code, String out, String err) {}

  public static Run run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = Cli.run(args);
      return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  static Path fixture(String name) {
    return Path.of(System.getProperty("rlhf.fixtures")).resolve("hf-tiny").resolve(name);
  }

  static JsonNode expected(String name) throws Exception {
    return JSON.readTree(fixture(name).resolve("expected.json").toFile());
  }

  static String csv(JsonNode ids) {
    return LongStream.range(0, ids.size()).mapToObj(i -> ids.get((int) i).asText()).collect(Collectors.joining(","));
  }

  @Test
  void forwardWritesTransformersLogits(@TempDir Path tmp) throws Exception {
    JsonNode seq = expected("qwen2").get("sequences").get(1);
    Path out = tmp.resolve("logits.json");
    Run r = run("forward", "--model", fixture("qwen2").toString(), "--input-ids", csv(seq.get("tokens")),
        "--output", out.toString(), "--threads", "1");
    assertEquals(0, r.code(), r.err());
    JsonNode written = JSON.readTree(out.toFile());
    assertEquals("[23,320]", written.get("shape").toString());
    JsonNode want = seq.get("logits").get("data");
    JsonNode got = written.get("logits");
    assertEquals(want.size(), got.size());
    double max = 0;
    for (int i = 0; i < want.size(); i++) {
      max = Math.max(max, Math.abs(want.get(i).asDouble() - got.get(i).asDouble()));
    }
    assertTrue(max <= 1e-4, "max diff " + max);
  }

  @Test
  void generateGreedyPrintsTheTransformersContinuation() throws Exception {
    JsonNode seq = expected("mistral").get("sequences").get(0);
    Run r = run("generate", "--model", fixture("mistral").toString(), "--input-ids", csv(seq.get("tokens")),
        "--max-new-tokens", "12", "--greedy");
    assertEquals(0, r.code(), r.err());
    String[] lines = r.out().strip().split("\n");
    assertEquals(1, lines.length);
    JsonNode line = JSON.readTree(lines[0]);
    assertEquals(seq.get("greedy").get("new_tokens"), line.get("new_tokens"));
    assertEquals(12, line.get("logprobs").size());
    assertEquals("length", line.get("finish_reason").asText());
  }

  @Test
  void samplingIsSeededAndPrintsOneLinePerSample() throws Exception {
    String[] args = {"generate", "--model", fixture("llama").toString(), "--input-ids", "1,5,9,33",
        "--max-new-tokens", "6", "--temperature", "0.9", "--top-p", "0.9", "--top-k", "50", "--seed", "4",
        "--num-samples", "3"};
    Run a = run(args);
    Run b = run(args);
    assertEquals(0, a.code(), a.err());
    assertEquals(a.out(), b.out());
    assertEquals(3, a.out().strip().split("\n").length);
  }

  @Test
  void promptTextUsesTheTokenizerAndChatTemplate() throws Exception {
    Path model = Path.of(System.getProperty("rlhf.repo")).resolve("examples/tiny-llama");
    Run r = run("generate", "--model", model.toString(), "--prompt", "Hi there", "--chat",
        "--max-new-tokens", "5", "--greedy", "--ignore-eos");
    assertEquals(0, r.code(), r.err());
    JsonNode line = JSON.readTree(r.out().strip());
    assertEquals(5, line.get("new_tokens").size());
    assertTrue(line.has("text"));
  }

  @Test
  void initModelWritesAReloadableCheckpoint(@TempDir Path tmp) throws Exception {
    Path dir = tmp.resolve("m");
    Run init = run("init-model", "--output", dir.toString(), "--family", "mixtral", "--vocab-size", "64",
        "--hidden-size", "32", "--intermediate-size", "48", "--layers", "1", "--heads", "4", "--kv-heads", "2",
        "--experts", "3", "--experts-per-token", "2", "--score-head", "--seed", "3");
    assertEquals(0, init.code(), init.err());
    assertTrue(Files.exists(dir.resolve("model.safetensors")) && Files.exists(dir.resolve("generation_config.json")));
    Run gen = run("generate", "--model", dir.toString(), "--input-ids", "1,4,9", "--max-new-tokens", "4", "--greedy",
        "--ignore-eos");
    assertEquals(0, gen.code(), gen.err());
    assertEquals(4, JSON.readTree(gen.out().strip()).get("new_tokens").size());
  }

  @Test
  void badInputGivesOneErrorLineAndExitCode2(@TempDir Path tmp) throws Exception {
    assertOneLineError(run("generate", "--model", tmp.resolve("missing").toString(), "--input-ids", "1"), "missing");
    assertOneLineError(run("generate", "--model", fixture("llama").toString(), "--input-ids", "1,400"),
        "token id 400 at index 1");
    assertOneLineError(run("generate", "--model", fixture("llama").toString(), "--input-ids", "1,x"), "'x'");
    Run unknown = run("forward", "--model", fixture("llama").toString(), "--input-idz", "1", "--output", "o.json");
    assertEquals(2, unknown.code());
    assertTrue(unknown.err().startsWith("error: unknown option or argument: --input-idz"), unknown.err());

    Path corrupt = tmp.resolve("corrupt");
    Files.createDirectories(corrupt);
    Files.copy(fixture("llama").resolve("config.json"), corrupt.resolve("config.json"));
    byte[] weights = Files.readAllBytes(fixture("llama").resolve("model.safetensors"));
    Files.write(corrupt.resolve("model.safetensors"), Arrays.copyOf(weights, weights.length / 2));
    assertOneLineError(run("forward", "--model", corrupt.toString(), "--input-ids", "1", "--output",
        tmp.resolve("o.json").toString()), "model.safetensors");
    assertFalse(Files.exists(tmp.resolve("o.json")));

    Run verbose = run("generate", "--model", tmp.resolve("missing").toString(), "--input-ids", "1", "--verbose");
    assertEquals(2, verbose.code());
    assertTrue(verbose.err().contains("\tat "), "--verbose prints the stack trace");
  }

  private static void assertOneLineError(Run r, String mustContain) {
    assertEquals(2, r.code(), r.err());
    String[] lines = r.err().strip().split("\n");
    assertEquals(1, lines.length, r.err());
    assertTrue(lines[0].startsWith("error: ") && lines[0].contains(mustContain), lines[0]);
  }
}
