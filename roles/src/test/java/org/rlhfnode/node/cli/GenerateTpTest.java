package org.rlhfnode.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.node.cli.CliTest.csv;
import static org.rlhfnode.node.cli.CliTest.expected;
import static org.rlhfnode.node.cli.CliTest.fixture;
import static org.rlhfnode.node.cli.CliTest.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.cli.CliTest.Run;

/** {@code --tp N}: the tensor-parallel CLI paths print what {@code --tp 1} prints, and refuse what does not split. */
class GenerateTpTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void greedyGenerateWithTp2PrintsTheSameTokensAsTp1() throws Exception {
    JsonNode seq = expected("qwen2").get("sequences").get(0);
    String[] args = {"generate", "--model", fixture("qwen2").toString(), "--input-ids", csv(seq.get("tokens")),
        "--max-new-tokens", "12", "--greedy", "--threads", "1", "--tp", "1"};
    Run one = run(args);
    args[args.length - 1] = "2";
    Run two = run(args);
    assertEquals(0, one.code(), one.err());
    assertEquals(0, two.code(), two.err());
    JsonNode a = JSON.readTree(one.out().strip());
    JsonNode b = JSON.readTree(two.out().strip());
    assertEquals(seq.get("greedy").get("new_tokens"), b.get("new_tokens"));
    assertEquals(a.get("new_tokens"), b.get("new_tokens"));
    assertEquals(a.get("finish_reason"), b.get("finish_reason"));
    for (int i = 0; i < a.get("logprobs").size(); i++) {
      assertEquals(a.get("logprobs").get(i).asDouble(), b.get("logprobs").get(i).asDouble(), 1e-4);
    }
    assertEquals(1, two.out().strip().split("\n").length, "only rank 0 prints");
  }

  @Test
  void sampledSamplesWithTp2MatchTp1() throws Exception {
    String[] args = {"generate", "--model", fixture("mixtral").toString(), "--input-ids", "1,5,9,33",
        "--max-new-tokens", "8", "--seed", "4", "--num-samples", "2", "--tp", "1"};
    Run one = run(args);
    args[args.length - 1] = "2";
    Run two = run(args);
    assertEquals(0, two.code(), two.err());
    String[] a = one.out().strip().split("\n");
    String[] b = two.out().strip().split("\n");
    assertEquals(2, b.length);
    for (int i = 0; i < a.length; i++) {
      assertEquals(JSON.readTree(a[i]).get("new_tokens"), JSON.readTree(b[i]).get("new_tokens"));
    }
  }

  @Test
  void forwardWithTp2WritesTheSameLogits(@TempDir Path tmp) throws Exception {
    Path out1 = tmp.resolve("tp1.json");
    Path out2 = tmp.resolve("tp2.json");
    String ids = csv(expected("mistral").get("sequences").get(0).get("tokens"));
    assertEquals(0, run("forward", "--model", fixture("mistral").toString(), "--input-ids", ids, "--output",
        out1.toString()).code());
    Run r = run("forward", "--model", fixture("mistral").toString(), "--input-ids", ids, "--output", out2.toString(),
        "--tp", "2");
    assertEquals(0, r.code(), r.err());
    JsonNode a = JSON.readTree(out1.toFile());
    JsonNode b = JSON.readTree(out2.toFile());
    assertEquals(a.get("shape"), b.get("shape"));
    double max = 0;
    for (int i = 0; i < a.get("logits").size(); i++) {
      max = Math.max(max, Math.abs(a.get("logits").get(i).asDouble() - b.get("logits").get(i).asDouble()));
    }
    assertTrue(max <= 2e-5, "tp 2 logits differ from tp 1 by " + max);
  }

  @Test
  void tpThatDoesNotDivideTheHeadsIsOneErrorLine() {
    Run r = run("generate", "--model", fixture("llama").toString(), "--input-ids", "1,5", "--tp", "3");
    assertEquals(2, r.code(), r.err());
    String[] lines = r.err().strip().split("\n");
    assertEquals(1, lines.length, r.err());
    assertTrue(lines[0].contains("num_attention_heads (4)") && lines[0].contains("--tp 3"), lines[0]);
    Run zero = run("generate", "--model", fixture("llama").toString(), "--input-ids", "1,5", "--tp", "0");
    assertEquals(2, zero.code());
    assertTrue(zero.err().contains("--tp must be >= 1"), zero.err());
  }

  @Test
  void benchGenerateReportsEachTpDegree() {
    Run r = run("bench", "generate", "--model", fixture("llama").toString(), "--batch", "2", "--prompt-len", "8",
        "--new-tokens", "4", "--repeats", "1", "--threads", "1", "--tp", "1,2");
    assertEquals(0, r.code(), r.err());
    long rows = r.out().lines().filter(l -> l.matches("\\s+[12]\\s+2\\s+8\\s+4\\s.*%")).count();
    assertEquals(2, rows, r.out());
  }
}
