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
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.checkpoint.CheckpointTestSupport.LogCapture;
import org.rlhfnode.runtime.io.CheckpointFormatException;

class CheckpointManagerTest {
  @TempDir
  Path root;

  private Path save(CheckpointManager m, long step) {
    return m.save(CheckpointManager.stepTag(step), weights(step), weights(100 + step), state(step));
  }

  @Test
  void saveThenLoadGivesBitIdenticalTensorsAndEqualState() {
    try (PointerScope scope = new PointerScope()) {
      CheckpointManager m = new CheckpointManager(root, 3);
      Map<String, Tensor> model = weights(1);
      Map<String, Tensor> optimizer = weights(2);
      TrainingState st = state(40);
      Path dir = m.save("global_step_40", model, optimizer, st);
      assertEquals(root.resolve("global_step_40"), dir);

      LoadedCheckpoint loaded = m.load(dir);
      assertBitIdentical(model, loaded.modelWeights());
      assertBitIdentical(optimizer, loaded.optimizerState());
      assertEquals(st, loaded.state());
      assertEquals(40, loaded.manifest().step());
      assertEquals("global_step_40", loaded.manifest().tag());
    }
  }

  @Test
  void shardedSaveRoundTripsBitIdentically() {
    try (PointerScope scope = new PointerScope()) {
      CheckpointManager m = new CheckpointManager(root, 1, 300); // forces several shards per directory
      Map<String, Tensor> model = weights(5);
      Path dir = m.save("global_step_7", model, Map.of(), state(7));
      assertTrue(Files.exists(dir.resolve("model/model.safetensors.index.json")));
      LoadedCheckpoint loaded = m.load(dir);
      assertBitIdentical(model, loaded.modelWeights());
      assertTrue(loaded.optimizerState().isEmpty(), "no optimizer state before the first step");
    }
  }

  @Test
  void checksumMismatchIsAOneLineErrorNamingTheFile() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      CheckpointManager m = new CheckpointManager(root, 3);
      Path dir = save(m, 10);
      Path file = dir.resolve("optimizer/model.safetensors");
      flipLastByte(file);

      assertChecksumMismatch(file, () -> m.load(dir));
    }
  }

  @Test
  void corruptedNewestIsSkippedByLatestWithAWarning() throws IOException {
    try (PointerScope scope = new PointerScope(); LogCapture log = new LogCapture(CheckpointManager.class)) {
      CheckpointManager m = new CheckpointManager(root, 3);
      Path older = save(m, 10);
      Path newer = save(m, 20);
      flipLastByte(newer.resolve("model/model.safetensors"));

      assertEquals(older, m.latest().orElseThrow());
      assertEquals(older, m.loadLatest().orElseThrow().dir());
      assertTrue(log.warnings().stream().anyMatch(w -> w.contains("skipping checkpoint " + newer)
          && w.contains("SHA-256 mismatch")), log.warnings().toString());
    }
  }

  @Test
  void truncatedFileIsReportedBySize() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      CheckpointManager m = new CheckpointManager(root, 3);
      Path dir = save(m, 3);
      Path file = dir.resolve("model/model.safetensors");
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
        ch.truncate(ch.size() - 4);
      }
      CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> CheckpointVerifier.verify(dir));
      assertTrue(e.getMessage().contains("model.safetensors: size"), e.getMessage());
    }
  }

  @Test
  void leftoverTempDirAndDirWithoutManifestAreNotLatest() throws IOException {
    try (PointerScope scope = new PointerScope(); LogCapture log = new LogCapture(CheckpointManager.class)) {
      CheckpointManager m = new CheckpointManager(root, 5);
      Path good = save(m, 10);
      // A newer complete-looking copy, but still under its hidden temporary name.
      copyTree(save(m, 30), root.resolve(".tmp-global_step_30-1234"));
      deleteTree(root.resolve("global_step_30"));
      // A newer directory with all data files but no manifest.
      copyTree(good, root.resolve("global_step_20"));
      Files.delete(root.resolve("global_step_20").resolve(CheckpointManifest.FILE_NAME));

      assertEquals(good, m.latest().orElseThrow());
      List<String> warnings = log.warnings();
      assertTrue(warnings.stream().anyMatch(w -> w.contains(".tmp-global_step_30-1234") && w.contains("did not finish")),
          warnings.toString());
      assertTrue(warnings.stream().anyMatch(w -> w.contains("global_step_20") && w.contains("no manifest.json")),
          warnings.toString());
      assertThrows(CheckpointFormatException.class, () -> m.load(root.resolve("global_step_20")));
    }
  }

  @Test
  void crashBeforeTheManifestLeavesThePreviousCheckpointLatest() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      CheckpointManager m = new CheckpointManager(root, 2);
      Path previous = save(m, 10);
      Path crashed = root.resolve("crash-image");
      m.beforeManifestForTest(tmp -> {
        // The process dies here: keep what was on disk, since a dead process runs no clean-up.
        copyTree(tmp, crashed);
        throw new SimulatedCrash();
      });
      assertThrows(SimulatedCrash.class, () -> save(m, 20));
      Path leftover = root.resolve(".tmp-global_step_20-dead");
      Files.move(crashed, leftover);
      assertTrue(Files.exists(leftover.resolve("model/model.safetensors")), "data files were written");
      assertFalse(Files.exists(leftover.resolve(CheckpointManifest.FILE_NAME)));

      assertEquals(previous, m.latest().orElseThrow());
      assertEquals(10, m.loadLatest().orElseThrow().state().step());
      assertFalse(Files.exists(root.resolve("global_step_20")));

      m.beforeManifestForTest(tmp -> { });
      save(m, 30);
      assertEquals(List.of("global_step_10", "global_step_30"), names(root), "the next save removes the leftover");
    }
  }

  @Test
  void rotationKeepsExactlyTheNewestN() {
    try (PointerScope scope = new PointerScope()) {
      CheckpointManager m = new CheckpointManager(root, 2);
      save(m, 1);
      assertEquals(List.of("global_step_1"), names(root));
      save(m, 2);
      save(m, 3);
      assertEquals(List.of("global_step_2", "global_step_3"), names(root));
      save(m, 4);
      save(m, 5);
      assertEquals(List.of("global_step_4", "global_step_5"), names(root));
      assertEquals(root.resolve("global_step_5"), m.latest().orElseThrow());
    }
  }

  @Test
  void rotationNeverDeletesTheCheckpointJustWritten() {
    try (PointerScope scope = new PointerScope()) {
      CheckpointManager m = new CheckpointManager(root, 1);
      save(m, 50);
      save(m, 20); // e.g. a re-save after resuming from an older checkpoint
      assertEquals(List.of("global_step_20", "global_step_50"), names(root));
    }
  }

  @Test
  void savingAnExistingTagReplacesIt() {
    try (PointerScope scope = new PointerScope()) {
      CheckpointManager m = new CheckpointManager(root, 3);
      m.save("global_step_5", weights(1), Map.of(), state(5));
      Map<String, Tensor> second = weights(2);
      Path dir = m.save("global_step_5", second, Map.of(), state(5));
      assertBitIdentical(second, m.load(dir).modelWeights());
      assertEquals(List.of("global_step_5"), names(root));
    }
  }

  @Test
  void rejectsTagsThatAreNotPlainDirectoryNames() {
    CheckpointManager m = new CheckpointManager(root, 3);
    for (String tag : List.of("", ".hidden", "../escape", "a/b", "x y")) {
      assertThrows(IllegalArgumentException.class, () -> m.save(tag, Map.of(), Map.of(), state(1)), tag);
    }
    assertThrows(IllegalArgumentException.class, () -> new CheckpointManager(root, 0));
  }

  @Test
  void unlistedFileInATensorDirectoryFailsVerification() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      CheckpointManager m = new CheckpointManager(root, 3);
      Path dir = save(m, 4);
      Files.writeString(dir.resolve("model/extra.safetensors"), "x");
      CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> CheckpointVerifier.verify(dir));
      assertTrue(e.getMessage().contains("extra.safetensors: not listed in manifest.json"), e.getMessage());
    }
  }

  @Test
  void latestIsEmptyForAMissingOrEmptyRoot() throws IOException {
    assertTrue(new CheckpointManager(root.resolve("none"), 1).latest().isEmpty());
    Files.createDirectories(root.resolve("empty"));
    assertTrue(new CheckpointManager(root.resolve("empty"), 1).latest().isEmpty());
  }

  private static final class SimulatedCrash extends RuntimeException {
    private static final long serialVersionUID = 1L;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.collect(Collectors.toList())) {
        Files.copy(p, to.resolve(from.relativize(p).toString()));
      }
    }
  }

  private static void deleteTree(Path dir) {
    DurableFiles.deleteTree(dir);
  }
}
