package org.rlhfnode.node.role;

import org.rlhfnode.messages.GeneratedSequences;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.ExperienceMaker;
import org.rlhfnode.runtime.algo.ppo.KlController;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;

/**
 * The bookkeeping of one PPO iteration inside the {@link Supervisor}: its prompts, the generated chunks,
 * the scoring answers, the experience, the train answers, and when each phase started and ended. Phases
 * run in order (generate → score → assemble → train → sync); with {@code max_staleness} ≥ 1 the phases
 * of consecutive iterations overlap.
 */
final class Iteration {
  /** Where an iteration stands. */
  enum Phase { GENERATING, SCORING, ASSEMBLING, READY, TRAINING, SYNCING, DONE }

  final int index;
  final List<long[]> prompts;
  final List<GeneratedSequences> chunks;
  final int[] chunkStarts;
  Phase phase = Phase.GENERATING;
  long generatedWith = Long.MAX_VALUE; // lowest weight version of its chunks
  RolloutRows rows;
  final Set<String> pendingScores = new java.util.HashSet<>();
  final Map<String, TensorMap> scores = new HashMap<>();
  Experience experience;
  double observedKl;
  double klCoef;
  final Set<String> pendingTrain = new java.util.HashSet<>();
  final Map<String, Double> trainMetrics = new LinkedHashMap<>();
  long trainedAtVersion;
  long syncBytes;
  double syncSeconds;
  final Map<String, Long> started = new HashMap<>();
  final Map<String, Long> ended = new HashMap<>();

  Iteration(int index, List<long[]> prompts, int chunkCount) {
    this.index = index;
    this.prompts = prompts;
    this.chunks = new ArrayList<>();
    for (int c = 0; c < chunkCount; c++) {
      chunks.add(null);
    }
    this.chunkStarts = new int[chunkCount + 1];
    for (int c = 0; c <= chunkCount; c++) {
      chunkStarts[c] = (int) ((long) prompts.size() * c / chunkCount);
    }
  }

  /** Prompts [chunkStarts[c], chunkStarts[c + 1]) form chunk c. */
  List<long[]> chunkPrompts(int c) {
    return prompts.subList(chunkStarts[c], chunkStarts[c + 1]);
  }

  boolean allChunksIn() {
    return chunks.stream().allMatch(g -> g != null);
  }

  void start(String phaseName, long nanos) {
    started.put(phaseName, nanos);
  }

  void end(String phaseName, long nanos) {
    ended.put(phaseName, nanos);
  }

  /** Seconds spent in a phase, NaN when it did not run. */
  double seconds(String phaseName) {
    Long a = started.get(phaseName);
    Long b = ended.get(phaseName);
    return a == null || b == null ? Double.NaN : (b - a) / 1e9;
  }

  /** The experience from the rows and the scoring answers (algorithms.md §7.3–§7.6), with KL coefficient β. */
  Experience assemble(ExperienceMaker.Options options, KlController beta) {
    return ExperienceMaker.assemble(options, beta, rows,
        WireArrays.doubles(scores.get(RoleDirectory.REWARD).require(TensorNames.SCORES)),
        scores.get(RoleDirectory.POLICY).require(TensorNames.OLD_LOG_PROBS).toFloatArray(),
        floats(RoleDirectory.REFERENCE, TensorNames.REF_LOG_PROBS), floats(RoleDirectory.CRITIC, TensorNames.VALUES),
        generatedWith);
  }

  private float[] floats(String scorer, String name) {
    TensorMap m = scores.get(scorer);
    return m == null ? null : m.require(name).toFloatArray();
  }

  /** Sum of the response lengths of all samples. */
  long generatedTokens() {
    long n = 0;
    for (int len : rows.responseLengths()) {
      n += len;
    }
    return n;
  }

  /** The metrics.jsonl row of this iteration (without the run-level fields the supervisor adds). */
  Map<String, Double> metrics() {
    Map<String, Double> m = new LinkedHashMap<>();
    int b = experience.batchSize();
    m.put("iteration", (double) (index + 1));
    m.put("reward_mean", experience.meanScore());
    m.put("kl", observedKl);
    m.put("kl_coef", klCoef);
    m.put("policy_loss", trainMetrics.getOrDefault("policy_loss", Double.NaN));
    m.put("value_loss", trainMetrics.getOrDefault("value_loss", Double.NaN));
    m.put("loss", trainMetrics.getOrDefault("policy_loss", Double.NaN));
    m.put("response_length", generatedTokens() / (double) b);
    int truncated = 0;
    for (boolean t : experience.truncated()) {
      truncated += t ? 1 : 0;
    }
    m.put("truncated_fraction", truncated / (double) b);
    m.put("samples", (double) b);
    m.put("generated_with_version", (double) generatedWith);
    m.put("staleness", (double) (trainedAtVersion - generatedWith));
    for (String k : List.of("clip_fraction", "policy_kl", "entropy", "kl_loss", "actor_grad_norm",
        "critic_grad_norm")) {
      m.put(k, trainMetrics.getOrDefault(k, Double.NaN));
    }
    m.put("time_generate", seconds("generate"));
    m.put("time_score", seconds("score"));
    m.put("time_train", seconds("train"));
    m.put("time_sync", seconds("sync"));
    m.put("tokens_per_s", generatedTokens() / seconds("generate"));
    m.put("sync_bytes", (double) syncBytes);
    return m;
  }
}
