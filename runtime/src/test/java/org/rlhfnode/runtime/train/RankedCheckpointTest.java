package org.rlhfnode.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.checkpoint.CheckpointManager;
import org.rlhfnode.runtime.checkpoint.RngState;
import org.rlhfnode.runtime.checkpoint.TrainingState;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.transport.RankGroup;

/**
 * Two Gloo ranks saving one checkpoint together: each rank's file is in it and in its manifest, and a
 * rank that cannot write leaves no checkpoint, no staging directory, and every rank failing; rank 0's
 * verdict on a damaged checkpoint reaches every rank.
 */
class RankedCheckpointTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @TempDir
  Path root;

  /** Each rank writes {@code rank-<r>.txt}; rank {@code failing} (or none, -1) fails instead. */
  private List<String> save(int failing) {
    CheckpointManager checkpoints = new CheckpointManager(root, 3);
    String tag = CheckpointManager.stepTag(4);
    Path staging = checkpoints.sharedStaging(tag);
    return RankGroup.run(2, TIMEOUT, "ranked-save", c -> {
      try {
        Path dir = RankedCheckpoint.save(c, "checkpoint " + tag, () -> checkpoints.beginShared(staging), () -> {
          if (c.rank() == failing) {
            throw new IOException("disk full on rank " + c.rank());
          }
          Files.writeString(staging.resolve("rank-" + c.rank() + ".txt"), "rank " + c.rank());
          if (c.isFirst()) {
            CheckpointManager.writeState(staging, TrainingState.at(4, 0, Map.of(), RngState.of(1, Map.of())));
          }
        }, () -> checkpoints.commit(staging, tag, 4), () -> checkpoints.abort(staging));
        return c.isFirst() ? dir.getFileName().toString() : "";
      } catch (RuntimeException e) {
        return "failed: " + e.getMessage(); // every rank reports what it saw
      }
    });
  }

  @Test
  void everyRanksFileIsInTheCheckpointAndItsManifest() throws IOException {
    assertEquals(List.of("global_step_4", ""), save(-1));
    Path dir = root.resolve("global_step_4");
    String manifest = Files.readString(dir.resolve("manifest.json"));
    for (String f : List.of("rank-0.txt", "rank-1.txt", "training_state.json")) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f);
      assertTrue(manifest.contains("\"" + f + "\""), f + " in the manifest");
    }
  }

  @Test
  void aRankThatCannotWriteLeavesNoCheckpointAndFailsEveryRank() throws IOException {
    List<String> seen = save(1);
    assertTrue(seen.get(1).startsWith("failed: cannot save checkpoint global_step_4: java.io.IOException: disk full"),
        seen.get(1));
    assertEquals("failed: cannot save checkpoint global_step_4: it failed on rank(s) [1] of 2 (each logged its own"
        + " error)", seen.get(0));
    try (Stream<Path> left = Files.list(root)) {
      assertEquals(List.of(), left.toList(), "neither the checkpoint nor its staging directory");
    }
    assertFalse(new CheckpointManager(root, 3).latest().isPresent());
  }

  @Test
  void rankZerosVerdictOnADamagedCheckpointReachesEveryRank() throws IOException {
    Path dir = Files.createDirectories(root.resolve("global_step_4")); // no manifest: the save did not complete
    List<String> seen = RankGroup.run(2, TIMEOUT, "ranked-verify", c -> {
      CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
          () -> RankedCheckpoint.verifyOnFirst(c, dir));
      return e.getMessage();
    });
    assertEquals(List.of(dir + ": no manifest.json (the save did not complete)",
        dir + ": rank 0 found this checkpoint damaged (its error names the file)"), seen);
  }
}
