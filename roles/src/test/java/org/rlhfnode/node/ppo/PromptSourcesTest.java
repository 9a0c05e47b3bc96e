package org.rlhfnode.node.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.role.PpoTestSettings;

/**
 * PPO's prompt sets: {@code --prompt_data_probs} samples the sources with the given shares (seeded, the
 * same plan every time, so a resumed run sees the same prompts), {@code --max_samples} caps them,
 * {@code --prompt_split} and {@code --eval_split} pick splits, a fractional {@code --eval_split} holds
 * prompts out, and bad combinations are one error naming the flag.
 */
class PromptSourcesTest {
  @TempDir
  Path tmp;

  /** {@code n} prompts "{prefix}{i}" in {@code name}. */
  private Path prompts(String name, String prefix, int n) throws IOException {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      lines.add("{\"input\": \"" + prefix + i + "\"}");
    }
    Path f = tmp.resolve(name);
    Files.createDirectories(f.getParent());
    return Files.write(f, lines);
  }

  private RunPlan plan(String... flags) {
    return RunPlan.load(PpoTestSettings.of(tmp.resolve("save"), flags));
  }

  /** The tiny Llama's byte tokens back to text (id = byte + 5). */
  private static List<String> texts(List<long[]> ids) {
    List<String> out = new ArrayList<>();
    for (long[] p : ids) {
      byte[] b = new byte[p.length];
      for (int i = 0; i < p.length; i++) {
        b[i] = (byte) (p[i] - 5);
      }
      out.add(new String(b, StandardCharsets.UTF_8));
    }
    return out;
  }

  @Test
  void promptDataProbsSampleEachSourceWithItsShareDeterministically() throws IOException {
    String sources = prompts("a.jsonl", "A", 400) + "," + prompts("b.jsonl", "B", 100);
    RunPlan mixed = plan("--prompt_data", sources, "--prompt_data_probs", "0.8,0.2");
    List<String> texts = texts(mixed.prompts());
    double shareA = texts.stream().filter(t -> t.startsWith("A")).count() / (double) texts.size();
    assertEquals(0.8, shareA, 0.04, "share of A among " + texts.size() + " prompts");
    assertEquals(500, new HashSet<>(texts).size(), "every prompt of both sources is used");
    RunPlan again = plan("--prompt_data", sources, "--prompt_data_probs", "0.8,0.2");
    assertEquals(texts, texts(again.prompts()));
    for (int it : List.of(0, 7, mixed.iterations() - 1)) {
      assertEquals(texts(mixed.promptsFor(it)), texts(again.promptsFor(it)), "iteration " + it);
    }
    assertNotEquals(texts, texts(plan("--prompt_data", sources, "--prompt_data_probs", "0.8,0.2", "--seed", "7")
        .prompts()), "the mix follows the seed");
    List<String> concatenated = texts(plan("--prompt_data", sources).prompts());
    assertEquals(500, concatenated.size());
    assertTrue(concatenated.subList(0, 400).stream().allMatch(t -> t.startsWith("A")), "no probs: A then B");
  }

  @Test
  void maxSamplesCapsEachSourceAndTheMix() throws IOException {
    String sources = prompts("a.jsonl", "A", 400) + "," + prompts("b.jsonl", "B", 100);
    List<String> capped = texts(plan("--prompt_data", sources, "--prompt_data_probs", "0.5,0.5",
        "--max_samples", "30").prompts());
    assertEquals(30, capped.size());
    assertTrue(capped.stream().allMatch(t -> Integer.parseInt(t.substring(1)) < 30), capped.toString());
  }

  @Test
  void evalSplitHoldsPromptsOutOrNamesASplit() throws IOException {
    String one = prompts("p.jsonl", "P", 40).toString();
    RunPlan held = plan("--prompt_data", one, "--eval_split", "0.25");
    Set<String> train = new HashSet<>(texts(held.prompts()));
    List<String> eval = texts(held.evalPrompts());
    assertEquals(10, eval.size());
    assertEquals(30, train.size());
    assertTrue(eval.stream().noneMatch(train::contains), "held-out prompts are not trained on");

    prompts("split/train.jsonl", "T", 8);
    prompts("split/test.jsonl", "E", 4);
    String dir = tmp.resolve("split").toString();
    RunPlan named = plan("--prompt_data", dir, "--eval_split", "test");
    assertEquals(Set.of("T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7"), new HashSet<>(texts(named.prompts())));
    assertEquals(List.of("E0", "E1", "E2", "E3"), texts(named.evalPrompts()));
    assertEquals(4, plan("--prompt_data", dir, "--prompt_split", "test").prompts().size());
    RunPlan separate = plan("--prompt_data", one, "--eval_prompt_data", dir, "--eval_split", "test",
        "--eval_max_samples", "3");
    assertEquals(List.of("E0", "E1", "E2"), texts(separate.evalPrompts()));
    assertEquals(List.of("T0", "T1"), texts(plan("--prompt_data", one, "--eval_prompt_data", dir,
        "--eval_max_samples", "2").evalPrompts()), "eval_prompt_data reads split train by default, as OpenRLHF");
  }

  @Test
  void badPromptSettingsNameTheFlag() throws IOException {
    String two = prompts("a.jsonl", "A", 10) + "," + prompts("b.jsonl", "B", 10);
    assertEquals("--prompt_data_probs has 1 weight(s) for 2 --prompt_data source(s)",
        assertThrows(IllegalArgumentException.class, () -> PpoTestSettings.of(tmp, "--prompt_data", two,
            "--prompt_data_probs", "1")).getMessage());
    assertEquals("--prompt_data_probs must be numbers > 0, got 1,x",
        assertThrows(IllegalArgumentException.class, () -> PpoTestSettings.of(tmp, "--prompt_data", two,
            "--prompt_data_probs", "1,x")).getMessage());
    assertEquals("--eval_split 0.1 holds out a fraction of --prompt_data, --eval_prompt_data is a separate eval "
        + "set: give one of them (with --eval_prompt_data, --eval_split may name its split)",
        assertThrows(IllegalArgumentException.class, () -> PpoTestSettings.of(tmp, "--eval_prompt_data", two,
            "--eval_split", "0.1")).getMessage());
  }

  @Test
  void mixingSettingsAreInTheResumeFingerprintAndPathsAreNot() throws IOException {
    String two = prompts("a.jsonl", "A", 10) + "," + prompts("b.jsonl", "B", 10);
    Map<String, String> f = PpoTestSettings.of(tmp, "--prompt_data", two, "--prompt_data_probs", "0.7,0.3")
        .resilience().fingerprint();
    assertEquals("0.7,0.3", f.get("ppo.prompt_data_probs"));
    assertEquals("train", f.get("ppo.prompt_split"));
    assertFalse(f.containsKey("ppo.prompt_data"));
  }
}
