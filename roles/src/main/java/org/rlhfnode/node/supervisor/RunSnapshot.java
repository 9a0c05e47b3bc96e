package org.rlhfnode.node.supervisor;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.rlhfnode.runtime.checkpoint.RngState;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;
import org.rlhfnode.runtime.checkpoint.TrainingState;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.metrics.MetricsFile;

/**
 * The supervisor's part of a PPO checkpoint ({@code run/}): the run's own state at an iteration boundary
 * — which run, how many iterations are done, the policy weight version, the KL controller's β, the data
 * cursor, the samples trained so far and the settings that change the maths — plus a copy of
 * {@code metrics.jsonl} through that iteration. Everything else (weights, optimizer states, update
 * counters) is in the trainers' parts; sampling seeds are derived from the run seed, the iteration and
 * the prompt index, so they need no state.
 *
 * <p>{@code run_state.json} has the {@link TrainingState} format: {@code step} = iterations, {@code epoch}
 * = episode, the data cursor {@code {position, prompt_count}}, no RNG state (seed 0) and the rest as
 * metadata, each setting under {@code setting.<key>}.
 *
 * @param runId the run's identity, shared by every checkpoint of the run
 * @param iteration iterations completed (the checkpoint's step)
 * @param policyVersion policy weight version after {@code iteration}
 * @param klCoef the KL controller's β after {@code iteration}
 * @param samplesTotal samples trained so far
 * @param episode data cursor: the pass over the prompts the next iteration is in
 * @param position data cursor: the next iteration's first prompt within that pass's permutation
 * @param promptCount data cursor check: how many prompts the run's prompt set had
 * @param settings the maths-changing settings ({@code section.key → value}); a resume must match them
 */
public record RunSnapshot(String runId, int iteration, long policyVersion, double klCoef, long samplesTotal,
    int episode, int position, int promptCount, Map<String, String> settings) {

  /** Name of the supervisor's part in a checkpoint. */
  public static final String PART = "run";
  static final String STATE_FILE = "run_state.json";
  private static final String RUN_ID = "run_id";
  private static final String POLICY_VERSION = "policy_version";
  private static final String KL_COEF = "kl_coef";
  private static final String SAMPLES_TOTAL = "samples_total";
  private static final String POSITION = "position";
  private static final String PROMPT_COUNT = "prompt_count";
  private static final String SETTING = "setting.";

  /** Checks the fields and copies the settings (sorted). */
  public RunSnapshot {
    Objects.requireNonNull(runId, "runId");
    if (iteration < 0 || policyVersion < 0 || samplesTotal < 0 || episode < 0 || position < 0 || promptCount < 0) {
      throw new IllegalArgumentException("RunSnapshot: counters must be >= 0");
    }
    settings = Map.copyOf(new TreeMap<>(settings));
  }

  /** The checkpoint tag of this snapshot ({@code iter_<iteration>}). */
  public String tag() {
    return RunCheckpoints.tag(iteration);
  }

  /**
   * Writes the part into {@code staging/run}: {@code run_state.json} and the lines of {@code metrics}
   * with a step ≤ {@link #iteration()}. Returns the SHA-256 of the part's manifest.
   */
  public String write(Path staging, Path metrics) {
    byte[] state = toState().toJson();
    List<String> lines = MetricsFile.linesThrough(metrics, iteration);
    return RunCheckpoints.writePart(staging.resolve(PART), tag(), iteration, dir -> {
      Files.write(dir.resolve(STATE_FILE), state);
      Files.write(dir.resolve(MetricsFile.FILE_NAME), lines, StandardCharsets.UTF_8);
    });
  }

  /** The copy of {@code metrics.jsonl} inside checkpoint {@code checkpointDir}. */
  public static Path metricsOf(Path checkpointDir) {
    return checkpointDir.resolve(PART).resolve(MetricsFile.FILE_NAME);
  }

  /**
   * Reads the run part of checkpoint {@code checkpointDir}, verified against its manifest.
   *
   * @throws CheckpointFormatException one line naming the file at fault
   */
  public static RunSnapshot read(Path checkpointDir) {
    Path part = checkpointDir.resolve(PART);
    RunCheckpoints.verifyPart(part);
    Path file = part.resolve(STATE_FILE);
    TrainingState state = TrainingState.readJson(file);
    Map<String, Object> meta = state.metadata();
    Map<String, String> settings = new LinkedHashMap<>();
    meta.forEach((key, value) -> {
      if (key.startsWith(SETTING)) {
        settings.put(key.substring(SETTING.length()), field(file, meta, key, String.class));
      }
    });
    try {
      return new RunSnapshot(field(file, meta, RUN_ID, String.class), Math.toIntExact(state.step()),
          field(file, meta, POLICY_VERSION, Long.class), field(file, meta, KL_COEF, Number.class).doubleValue(),
          field(file, meta, SAMPLES_TOTAL, Long.class), Math.toIntExact(state.epoch()),
          Math.toIntExact(field(file, state.dataCursor(), POSITION, Long.class)),
          Math.toIntExact(field(file, state.dataCursor(), PROMPT_COUNT, Long.class)), settings);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new CheckpointFormatException(file, e.getMessage(), e);
    }
  }

  private static <T> T field(Path file, Map<String, Object> map, String key, Class<T> type) {
    Object v = map.get(key);
    if (!type.isInstance(v)) {
      throw new CheckpointFormatException(file, v == null ? "missing field '" + key + "'"
          : "field '" + key + "' must be a " + type.getSimpleName() + ", got " + v);
    }
    return type.cast(v);
  }

  private TrainingState toState() {
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put(RUN_ID, runId);
    meta.put(POLICY_VERSION, policyVersion);
    meta.put(KL_COEF, klCoef);
    meta.put(SAMPLES_TOTAL, samplesTotal);
    settings.forEach((key, value) -> meta.put(SETTING + key, value));
    Map<String, Object> cursor = Map.of(POSITION, position, PROMPT_COUNT, promptCount);
    return new TrainingState(iteration, episode, cursor, RngState.of(0, Map.of()), iteration, meta);
  }

  /**
   * Why a run with {@code current} settings cannot continue from this snapshot ("ppo.actor_learning_rate
   * is 0.001 here, 5e-4 in the checkpoint"), or null when they agree.
   */
  public String settingsMismatch(Map<String, String> current) {
    Map<String, String> all = new TreeMap<>(settings);
    current.forEach(all::putIfAbsent);
    Map<String, String> defaults = org.rlhfnode.node.ppo.PpoSettings.defaultFingerprint();
    for (String key : all.keySet()) {
      // a setting added after the checkpoint was written: it ran with what the default now does
      String mine = settings.containsKey(key) ? settings.get(key) : defaults.get(key);
      String now = current.get(key);
      if (!Objects.equals(mine, now)) {
        return key + " is " + (now == null ? "unset" : now) + " in this run but " + (mine == null ? "unset" : mine)
            + " in the checkpoint";
      }
    }
    return null;
  }
}
