package org.rlhfnode.node.supervisor;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a run starts, decided once its roles are there: a new run, a run resumed with
 * {@code --load_checkpoint}, or — when the cluster's roles already belong to a run (this supervisor
 * replaced one that was lost) — that run, taken over. The answer lists the checkpoints to restore from,
 * newest first; the restore falls back along the list when a part turns out to be corrupt. An empty list
 * means the initial state. Refused: checkpoints exist but neither {@code --load_checkpoint} nor a running
 * run asks for them (nothing of an earlier run is overwritten), or the newest checkpoint was written with
 * other maths-changing settings. Plain logic, called off the actor thread (it reads checkpoint files).
 */
final class StartDecision {
  private static final Logger LOG = LoggerFactory.getLogger(StartDecision.class);

  private StartDecision() {}

  /** A committed checkpoint and its run state. */
  record Candidate(Path dir, RunSnapshot snapshot) {}

  /** What to restore: {@code candidates} newest first, empty for the initial state. */
  record Plan(String runId, List<Candidate> candidates, String how) {}

  /** The run cannot start; {@code error} is one line, the node exits with code 2. */
  static final class Refused extends RuntimeException {
    Refused(String error) {
      super(error);
    }
  }

  /**
   * @param clusterRunId the run the live roles belong to, "" when none
   * @param loadCheckpoint whether {@code --load_checkpoint} was given
   * @param settings this run's maths-changing settings
   * @throws Refused when the run must not start
   */
  static Plan decide(String clusterRunId, boolean loadCheckpoint, RunCheckpoints checkpoints,
      Map<String, String> settings) {
    if (!clusterRunId.isEmpty()) {
      return new Plan(clusterRunId, candidates(checkpoints, clusterRunId, settings),
          "taking over run " + clusterRunId + " from its roles");
    }
    List<Path> complete = checkpoints.complete();
    if (complete.isEmpty()) {
      if (loadCheckpoint) {
        LOG.warn("--load_checkpoint: no complete checkpoint under {}; starting a new run", checkpoints.root());
      }
      return new Plan(newRunId(), List.of(), "new run");
    }
    if (!loadCheckpoint) {
      throw new Refused(checkpoints.root() + " holds checkpoints of an earlier run (newest "
          + complete.get(0).getFileName() + "); add --load_checkpoint to resume it, or give another --ckpt_path");
    }
    String runId = newestRunId(complete);
    return new Plan(runId, candidates(checkpoints, runId, settings), "resuming run " + runId);
  }

  /** Where run {@code runId} continues after it lost a stateful role: its newest usable checkpoint. */
  static Plan recover(String runId, RunCheckpoints checkpoints, Map<String, String> settings) {
    return new Plan(runId, candidates(checkpoints, runId, settings), "recovering run " + runId);
  }

  /** The run of the newest checkpoint whose run part can be read. */
  private static String newestRunId(List<Path> complete) {
    List<String> problems = new ArrayList<>();
    for (Path dir : complete) {
      try {
        return RunSnapshot.read(dir).runId();
      } catch (CheckpointFormatException | UncheckedIOException e) {
        problems.add(e.getMessage());
        LOG.warn("skipping checkpoint {}: {}", dir, e.getMessage());
      }
    }
    throw new Refused("no usable checkpoint under " + complete.get(0).getParent() + ": " + String.join("; ", problems));
  }

  /**
   * The committed checkpoints of {@code runId}, newest first. One whose run part cannot be read is skipped
   * with a warning; one written with other settings is refused (a silent fallback would change the run).
   */
  static List<Candidate> candidates(RunCheckpoints checkpoints, String runId, Map<String, String> settings) {
    List<Candidate> out = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    for (Path dir : checkpoints.complete()) {
      RunSnapshot s;
      try {
        s = RunSnapshot.read(dir);
      } catch (CheckpointFormatException | UncheckedIOException e) {
        LOG.warn("skipping checkpoint {}: {}", dir, e.getMessage());
        unreadable.add(e.getMessage());
        continue;
      }
      if (!s.runId().equals(runId)) {
        continue;
      }
      String mismatch = s.settingsMismatch(settings);
      if (mismatch != null) {
        throw new Refused(RunSnapshot.metricsOf(dir).resolveSibling(RunSnapshot.STATE_FILE)
            + ": written by a run with other settings: " + mismatch
            + " (resume with the settings of that run, or give another --ckpt_path)");
      }
      out.add(new Candidate(dir, s));
    }
    if (out.isEmpty() && !unreadable.isEmpty()) {
      throw new Refused("no usable checkpoint under " + checkpoints.root() + ": " + String.join("; ", unreadable));
    }
    return out;
  }

  private static String newRunId() {
    return UUID.randomUUID().toString();
  }
}
