package org.rlhfnode.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.checkpoint.CheckpointTestSupport.assertBitIdentical;
import static org.rlhfnode.runtime.checkpoint.CheckpointTestSupport.assertChecksumMismatch;
import static org.rlhfnode.runtime.checkpoint.CheckpointTestSupport.flipLastByte;
import static org.rlhfnode.runtime.checkpoint.CheckpointTestSupport.names;
import static org.rlhfnode.runtime.checkpoint.CheckpointTestSupport.state;
import static org.rlhfnode.runtime.checkpoint.CheckpointTestSupport.weights;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.checkpoint.CheckpointTestSupport.LogCapture;
import org.rlhfnode.runtime.io.CheckpointFormatException;

class RunCheckpointsTest {
  private static final String OTHER_SHA = "ab".repeat(32);

  @TempDir
  Path root;

  /** The supervisor's part: small text files. */
  private static String writeRunPart(Path staging, long step, String content) {
    return RunCheckpoints.writePart(RunCheckpoints.part(staging, "run"), RunCheckpoints.tag(step), step, dir -> {
      Files.writeString(dir.resolve("run_state.json"), "{\"iteration\": " + step + ", \"note\": \"" + content + "\"}");
      Files.writeString(dir.resolve("metrics.jsonl"), "{\"reward\": 0.5}\n");
    });
  }

  private static String writeTrainer(Path staging, String part, long step, long seed) {
    return RunCheckpoints.writeTrainerPart(RunCheckpoints.part(staging, part), RunCheckpoints.tag(step), step,
        weights(seed), weights(100 + seed), state(step), null);
  }

  /** Writes run/, policy/ and critic/ into a fresh staging directory; returns the reported SHA-256s. */
  private static Map<String, String> writeAllParts(Path staging, long step) {
    Map<String, String> shas = new LinkedHashMap<>();
    shas.put("run", writeRunPart(staging, step, "all"));
    shas.put("policy", writeTrainer(staging, "policy", step, 1));
    shas.put("critic", writeTrainer(staging, "critic", step, 2));
    return shas;
  }

  private static Path commitAll(RunCheckpoints rc, long step) {
    Path staging = rc.begin(RunCheckpoints.tag(step));
    return rc.commit(staging, RunCheckpoints.tag(step), step, writeAllParts(staging, step));
  }

  /** A checkpoint with only the cheap run/ part, for tests about the root's directories. */
  private static Path commitRunOnly(RunCheckpoints rc, long step, String content) {
    Path staging = rc.begin(RunCheckpoints.tag(step));
    String sha = writeRunPart(staging, step, content);
    return rc.commit(staging, RunCheckpoints.tag(step), step, Map.of("run", sha));
  }

  @Test
  void committedCheckpointWithThreePartsRoundTrips() {
    try (PointerScope scope = new PointerScope()) {
      RunCheckpoints rc = new RunCheckpoints(root, 3);
      Path dir = commitAll(rc, 4);
      assertEquals(root.resolve("iter_4"), dir);
      assertEquals(List.of("iter_4"), names(root), "the staging directory became the checkpoint");
      assertEquals(List.of(dir), rc.complete());

      CheckpointManifest top = CheckpointManifest.read(dir.resolve(CheckpointManifest.FILE_NAME));
      assertEquals("iter_4", top.tag());
      assertEquals(4, top.step());
      assertEquals(List.of("critic/manifest.json", "policy/manifest.json", "run/manifest.json"), paths(top));

      LoadedCheckpoint policy = RunCheckpoints.loadTrainerPart(RunCheckpoints.part(dir, "policy"));
      assertBitIdentical(weights(1), policy.modelWeights());
      assertBitIdentical(weights(101), policy.optimizerState());
      assertEquals(state(4), policy.state());
      LoadedCheckpoint critic = new CheckpointManager(root, 1).load(RunCheckpoints.part(dir, "critic"));
      assertBitIdentical(weights(2), critic.modelWeights());

      CheckpointManifest run = RunCheckpoints.verifyPart(RunCheckpoints.part(dir, "run"));
      assertEquals(List.of("metrics.jsonl", "run_state.json"), paths(run));
      assertEquals("iter_4", run.tag());
    }
  }

  @Test
  void missingPartIsRefusedAndTheNextBeginRemovesTheStagingDirectory() {
    try (PointerScope scope = new PointerScope()) {
      RunCheckpoints rc = new RunCheckpoints(root, 3);
      Path staging = rc.begin("iter_4");
      Map<String, String> shas = new LinkedHashMap<>();
      shas.put("run", writeRunPart(staging, 4, "x"));
      shas.put("policy", writeTrainer(staging, "policy", 4, 1));
      shas.put("critic", OTHER_SHA);

      CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
          () -> rc.commit(staging, "iter_4", 4, shas));
      assertTrue(e.getMessage().contains("part 'critic' is missing"), e.getMessage());
      assertEquals(staging.resolve("critic/manifest.json"), e.file());
      assertFalse(Files.exists(root.resolve("iter_4")));
      assertTrue(rc.complete().isEmpty());

      Path next = rc.begin("iter_5");
      assertEquals(List.of(next.getFileName().toString()), names(root));
    }
  }

  @Test
  void killBetweenPartWritesLeavesNothingVisible() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      RunCheckpoints rc = new RunCheckpoints(root, 3);
      Path staging = rc.begin("iter_6");
      String policySha = writeTrainer(staging, "policy", 6, 1);
      // The critic's process died mid-write: its hidden directory has data but no manifest and was never renamed.
      Path halfWritten = staging.resolve(".part-critic-1a2b3c/model");
      Files.createDirectories(halfWritten);
      Files.write(halfWritten.resolve("model.safetensors"), new byte[] {1, 2, 3});

      assertTrue(rc.complete().isEmpty());
      assertEquals(List.of(staging.getFileName().toString()), names(root));
      CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
          () -> rc.commit(staging, "iter_6", 6, Map.of("policy", policySha, "critic", OTHER_SHA)));
      assertTrue(e.getMessage().contains("'critic'"), e.getMessage());
      assertFalse(Files.exists(root.resolve("iter_6")));
      assertTrue(rc.complete().isEmpty());
    }
  }

  @Test
  void reportedShaThatDoesNotMatchThePartManifestIsRefused() {
    try (PointerScope scope = new PointerScope()) {
      RunCheckpoints rc = new RunCheckpoints(root, 3);
      Path staging = rc.begin("iter_2");
      Map<String, String> shas = writeAllParts(staging, 2);
      shas.put("policy", OTHER_SHA);

      CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
          () -> rc.commit(staging, "iter_2", 2, shas));
      assertTrue(e.getMessage().contains("part 'policy' has SHA-256") && e.getMessage().contains(OTHER_SHA),
          e.getMessage());
      assertFalse(e.getMessage().contains("\n"));
      assertFalse(Files.exists(root.resolve("iter_2")));
      assertTrue(rc.complete().isEmpty());
    }
  }

  @Test
  void corruptDataFileIsListedByCompleteButFailsTheLoadNamingTheFile() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      RunCheckpoints rc = new RunCheckpoints(root, 3);
      Path dir = commitAll(rc, 3);
      Path policy = RunCheckpoints.part(dir, "policy");
      flipLastByte(policy.resolve("model/model.safetensors"));
      assertEquals(List.of(dir), rc.complete(), "complete() reads manifests only");

      assertChecksumMismatch(policy.resolve("model/model.safetensors"), () -> RunCheckpoints.loadTrainerPart(policy));
      RunCheckpoints.loadTrainerPart(RunCheckpoints.part(dir, "critic"));
    }
  }

  @Test
  void corruptPartManifestSkipsThatCheckpointAndFallsBackNewestFirst() throws IOException {
    try (PointerScope scope = new PointerScope(); LogCapture log = new LogCapture(RunCheckpoints.class)) {
      RunCheckpoints rc = new RunCheckpoints(root, 5);
      List<Path> newestFirst = new ArrayList<>();
      for (long step = 1; step <= 3; step++) {
        newestFirst.add(0, commitAll(rc, step));
      }
      assertEquals(newestFirst, rc.complete());

      Path third = newestFirst.remove(0);
      Path manifest = third.resolve("policy/manifest.json");
      Files.writeString(manifest, Files.readString(manifest).replace("\"step\" : 3", "\"step\" : 30"));
      assertEquals(newestFirst, rc.complete(), "falls back to iter_2, then iter_1");
      assertTrue(log.warnings().stream().anyMatch(w -> w.contains("skipping checkpoint " + third)
          && w.contains(manifest.toString())), log.warnings().toString());
    }
  }

  @Test
  void rotationKeepsTheNewestTwo() {
    RunCheckpoints rc = new RunCheckpoints(root, 2);
    for (long step = 1; step <= 4; step++) {
      commitRunOnly(rc, step, "r" + step);
    }
    assertEquals(List.of("iter_3", "iter_4"), names(root));
    assertEquals(List.of(root.resolve("iter_4"), root.resolve("iter_3")), rc.complete());
  }

  @Test
  void replacingAnExistingTagKeepsTheOldOneHiddenAndIgnored() throws IOException {
    try (LogCapture log = new LogCapture(RunCheckpoints.class)) {
      RunCheckpoints rc = new RunCheckpoints(root, 3);
      commitRunOnly(rc, 2, "old");
      Path dir = commitRunOnly(rc, 2, "new");

      List<String> names = names(root);
      assertEquals(2, names.size(), names.toString());
      assertEquals("iter_2", names.get(1));
      Path replaced = root.resolve(names.get(0));
      assertTrue(names.get(0).startsWith(".replaced-iter_2-"), names.toString());
      assertTrue(Files.readString(replaced.resolve("run/run_state.json")).contains("old"));
      assertTrue(Files.readString(dir.resolve("run/run_state.json")).contains("new"));
      assertTrue(log.warnings().stream().anyMatch(w -> w.contains("replacing existing checkpoint " + dir)),
          log.warnings().toString());

      assertEquals(List.of(dir), rc.complete());
      rc.abort(rc.begin("iter_3"));
      assertTrue(Files.isDirectory(replaced), "begin leaves .replaced-* alone");
    }
  }

  @Test
  void hfFilesOfATrainerPartAreListedAndVerified() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      RunCheckpoints rc = new RunCheckpoints(root, 3);
      Path staging = rc.begin("iter_7");
      Map<String, Tensor> model = weights(3);
      String sha = RunCheckpoints.writeTrainerPart(RunCheckpoints.part(staging, "policy"), "iter_7", 7, model,
          Map.of(), state(7), dir -> {
            Files.createDirectories(dir.resolve("hf"));
            Files.writeString(dir.resolve("hf/config.json"), "{\"hidden_size\": 8}");
          });
      Path dir = rc.commit(staging, "iter_7", 7, Map.of("policy", sha));
      Path part = RunCheckpoints.part(dir, "policy");

      assertTrue(paths(RunCheckpoints.verifyPart(part)).contains("hf/config.json"));
      assertBitIdentical(model, RunCheckpoints.loadTrainerPart(part).modelWeights());
      Path hf = part.resolve("hf/config.json");
      Files.writeString(hf, "{\"hidden_size\": 9}");
      assertChecksumMismatch(hf, () -> RunCheckpoints.loadTrainerPart(part));
    }
  }

  @Test
  void failedOrRepeatedPartWriteLeavesNoHiddenDirectory() {
    RunCheckpoints rc = new RunCheckpoints(root, 3);
    Path staging = rc.begin("iter_1");
    Path part = RunCheckpoints.part(staging, "run");
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> RunCheckpoints.writePart(part, "iter_1",
        1, dir -> {
          Files.writeString(dir.resolve("a.txt"), "a");
          throw new IOException("disk full");
        }));
    assertTrue(e.getMessage().startsWith("cannot write checkpoint part " + part) && e.getMessage().contains("disk full"),
        e.getMessage());
    assertEquals(List.of(), names(staging));

    writeRunPart(staging, 1, "once");
    assertThrows(UncheckedIOException.class, () -> writeRunPart(staging, 1, "twice"));
    assertEquals(List.of("run"), names(staging));
  }

  @Test
  void rejectsBadArguments() {
    assertThrows(IllegalArgumentException.class, () -> new RunCheckpoints(root, 0));
    RunCheckpoints rc = new RunCheckpoints(root, 1);
    assertThrows(IllegalArgumentException.class, () -> rc.begin("../x"));
    assertThrows(IllegalArgumentException.class, () -> RunCheckpoints.part(root, ".hidden"));
    assertThrows(IllegalArgumentException.class, () -> rc.commit(root.resolve("iter_1"), "iter_1", 1,
        Map.of("run", OTHER_SHA)), "only a staging directory of this root can be committed");
    assertEquals("iter_12", RunCheckpoints.tag(12));
  }

  private static List<String> paths(CheckpointManifest m) {
    return m.files().stream().map(CheckpointManifest.FileEntry::path).collect(Collectors.toList());
  }
}
