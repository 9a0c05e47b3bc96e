package org.rlhfnode.node.supervisor;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;
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
  static final int FORMAT_VERSION = 1;
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

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
    byte[] state = toJson();
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
    try {
      JsonNode root = JSON.readTree(Files.readAllBytes(file));
      int version = required(file, root, "format_version").asInt();
      if (version != FORMAT_VERSION) {
        throw new CheckpointFormatException(file, "format_version " + version + " is not supported (expected "
            + FORMAT_VERSION + ")");
      }
      Map<String, String> settings = new LinkedHashMap<>();
      required(file, root, "settings").fields().forEachRemaining(e -> settings.put(e.getKey(), e.getValue().asText()));
      JsonNode cursor = required(file, root, "data_cursor");
      return new RunSnapshot(required(file, root, "run_id").asText(), required(file, root, "iteration").asInt(),
          required(file, root, "policy_version").asLong(), required(file, root, "kl_coef").asDouble(),
          required(file, root, "samples_total").asLong(), required(file, cursor, "episode").asInt(),
          required(file, cursor, "position").asInt(), required(file, cursor, "prompt_count").asInt(), settings);
    } catch (JsonProcessingException e) {
      throw new CheckpointFormatException(file, "malformed JSON: " + e.getOriginalMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new CheckpointFormatException(file, e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read: " + e, e);
    }
  }

  private static JsonNode required(Path file, JsonNode parent, String field) {
    JsonNode n = parent.get(field);
    if (n == null || n.isNull()) {
      throw new CheckpointFormatException(file, "missing field '" + field + "'");
    }
    return n;
  }

  private byte[] toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("format_version", FORMAT_VERSION);
    root.put("run_id", runId);
    root.put("iteration", iteration);
    root.put("policy_version", policyVersion);
    root.put("kl_coef", klCoef);
    root.put("samples_total", samplesTotal);
    root.putObject("data_cursor").put("episode", episode).put("position", position).put("prompt_count", promptCount);
    ObjectNode s = root.putObject("settings");
    settings.forEach(s::put);
    try {
      return JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode the run state: " + e.getOriginalMessage(), e);
    }
  }

  /**
   * Why a run with {@code current} settings cannot continue from this snapshot ("ppo.actor_learning_rate
   * is 0.001 here, 5e-4 in the checkpoint"), or null when they agree.
   */
  public String settingsMismatch(Map<String, String> current) {
    Map<String, String> all = new TreeMap<>(settings);
    current.forEach(all::putIfAbsent);
    for (String key : all.keySet()) {
      String mine = settings.get(key);
      String now = current.get(key);
      if (!Objects.equals(mine, now)) {
        return key + " is " + (now == null ? "unset" : now) + " in this run but " + (mine == null ? "unset" : mine)
            + " in the checkpoint";
      }
    }
    return null;
  }
}
