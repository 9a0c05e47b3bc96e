package org.rlhfnode.node.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;

/**
 * Where a run starts, from the checkpoints on disk and the run the cluster's roles belong to: a new
 * run, a refused start over an earlier run's checkpoints, a resume of the newest run, a takeover of the
 * live run, a recovery; checkpoints of other settings are refused naming the file and the setting; a run
 * state that cannot be read is skipped; the run state keeps β, the data cursor and the metrics.
 */
class StartDecisionTest {
  private static final Map<String, String> SETTINGS = Map.of("ppo.actor_learning_rate", "0.001", "train.seed", "42");

  @TempDir
  Path tmp;

  /** A committed checkpoint with only the run part (the trainers' parts do not matter here). */
  private Path commit(RunCheckpoints ckpt, String runId, int iteration, Map<String, String> settings)
      throws IOException {
    Path metrics = tmp.resolve("metrics-" + runId + "-" + iteration + ".jsonl");
    StringBuilder rows = new StringBuilder();
    for (int i = 1; i <= iteration + 1; i++) {
      rows.append("{\"step\":").append(i).append(",\"reward_mean\":0.").append(i).append("}\n");
    }
    Files.writeString(metrics, rows.toString());
    RunSnapshot snap = new RunSnapshot(runId, iteration, iteration, 0.05 + iteration, 16L * iteration, iteration / 6,
        (iteration % 6) * 8, 48, settings);
    Path staging = ckpt.begin(snap.tag());
    String sha = snap.write(staging, metrics);
    return ckpt.commit(staging, snap.tag(), iteration, Map.of(RunSnapshot.PART, sha));
  }

  @Test
  void aNewRunStartsFromTheInitialStateWithANewId() {
    RunCheckpoints ckpt = new RunCheckpoints(tmp.resolve("ckpt"), 3);
    StartDecision.Plan a = StartDecision.decide("", false, ckpt, SETTINGS);
    StartDecision.Plan b = StartDecision.decide("", true, ckpt, SETTINGS); // --load_checkpoint with nothing saved
    assertEquals(List.of(), a.candidates());
    assertEquals(List.of(), b.candidates());
    assertTrue(!a.runId().isEmpty() && !a.runId().equals(b.runId()));
  }

  @Test
  void checkpointsOfAnEarlierRunAreNotOverwrittenWithoutLoadCheckpoint() throws IOException {
    RunCheckpoints ckpt = new RunCheckpoints(tmp.resolve("ckpt"), 3);
    commit(ckpt, "run-a", 4, SETTINGS);
    StartDecision.Refused e = assertThrows(StartDecision.Refused.class,
        () -> StartDecision.decide("", false, ckpt, SETTINGS));
    assertTrue(e.getMessage().contains(ckpt.root().toString()) && e.getMessage().contains("iter_4")
        && e.getMessage().contains("--load_checkpoint"), e.getMessage());
  }

  @Test
  void loadCheckpointResumesTheNewestRunNewestFirst() throws IOException {
    RunCheckpoints ckpt = new RunCheckpoints(tmp.resolve("ckpt"), 5);
    commit(ckpt, "run-a", 2, SETTINGS);
    commit(ckpt, "run-b", 2, SETTINGS);
    Path b4 = commit(ckpt, "run-b", 4, SETTINGS);
    StartDecision.Plan p = StartDecision.decide("", true, ckpt, SETTINGS);
    assertEquals("run-b", p.runId());
    assertEquals(List.of(b4, ckpt.root().resolve("iter_2")), p.candidates().stream().map(c -> c.dir()).toList());
    RunSnapshot s = p.candidates().get(0).snapshot();
    assertEquals(4, s.iteration());
    assertEquals(4.05, s.klCoef());
    assertEquals(64, s.samplesTotal());
    assertEquals(0, s.episode());
    assertEquals(32, s.position());
    assertEquals(4, Files.readAllLines(RunSnapshot.metricsOf(b4)).size(), "metrics copied through step 4, not 5");
  }

  @Test
  void aCheckpointWrittenWithOtherSettingsIsRefusedNamingTheSetting() throws IOException {
    RunCheckpoints ckpt = new RunCheckpoints(tmp.resolve("ckpt"), 3);
    commit(ckpt, "run-a", 2, Map.of("ppo.actor_learning_rate", "0.0005", "train.seed", "42"));
    StartDecision.Refused e = assertThrows(StartDecision.Refused.class,
        () -> StartDecision.decide("", true, ckpt, SETTINGS));
    assertTrue(e.getMessage().contains("run_state.json") && e.getMessage().contains("ppo.actor_learning_rate is 0.001")
        && e.getMessage().contains("0.0005"), e.getMessage());
  }

  @Test
  void aSettingAddedSinceTheCheckpointMatchesOnlyAtItsDefault() throws IOException {
    RunCheckpoints ckpt = new RunCheckpoints(tmp.resolve("ckpt"), 3);
    commit(ckpt, "run-a", 2, SETTINGS); // written before ppo.prompt_split existed
    Map<String, String> now = new java.util.HashMap<>(SETTINGS);
    now.put("ppo.prompt_split", "train"); // its default: what the old run did
    assertEquals(1, StartDecision.decide("", true, ckpt, now).candidates().size());
    now.put("ppo.prompt_split", "test");
    StartDecision.Refused e = assertThrows(StartDecision.Refused.class,
        () -> StartDecision.decide("", true, ckpt, now));
    assertTrue(e.getMessage().contains("ppo.prompt_split is test"), e.getMessage());
  }

  @Test
  void aLiveRunIsTakenOverFromItsOwnCheckpointsOnly() throws IOException {
    RunCheckpoints ckpt = new RunCheckpoints(tmp.resolve("ckpt"), 5);
    Path a2 = commit(ckpt, "run-a", 2, SETTINGS);
    commit(ckpt, "run-b", 4, SETTINGS);
    StartDecision.Plan p = StartDecision.decide("run-a", false, ckpt, SETTINGS); // no flag: the roles say which run
    assertEquals("run-a", p.runId());
    assertEquals(List.of(a2), p.candidates().stream().map(c -> c.dir()).toList());
    assertEquals(List.of(a2), StartDecision.recover("run-a", ckpt, SETTINGS).candidates().stream()
        .map(c -> c.dir()).toList());
  }

  @Test
  void anUnreadableRunStateIsSkippedAndOnlyUnreadableOnesRefuse() throws IOException {
    RunCheckpoints ckpt = new RunCheckpoints(tmp.resolve("ckpt"), 5);
    Path a2 = commit(ckpt, "run-a", 2, SETTINGS);
    Path a4 = commit(ckpt, "run-a", 4, SETTINGS);
    Path state = a4.resolve(RunSnapshot.PART).resolve(RunSnapshot.STATE_FILE);
    Files.writeString(state, Files.readString(state).replace("\"step\" : 4", "\"step\" : 5"));
    assertEquals(List.of(a2), StartDecision.decide("", true, ckpt, SETTINGS).candidates().stream()
        .map(c -> c.dir()).toList());
    Path state2 = a2.resolve(RunSnapshot.PART).resolve(RunSnapshot.STATE_FILE);
    Files.writeString(state2, "{}");
    StartDecision.Refused e = assertThrows(StartDecision.Refused.class,
        () -> StartDecision.decide("", true, ckpt, SETTINGS));
    assertTrue(e.getMessage().contains("no usable checkpoint") && e.getMessage().contains(state.toString()),
        e.getMessage());
  }
}
