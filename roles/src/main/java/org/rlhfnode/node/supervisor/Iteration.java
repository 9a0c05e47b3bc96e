package org.rlhfnode.node.supervisor;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.ExperienceMaker;
import org.rlhfnode.runtime.algo.ppo.KlController;

/**
 * One PPO iteration as the {@link Supervisor} carries it after its rollout was scored: the rows and the
 * scorers' answers, the assembled experience (algorithms.md §7.3–§7.6), the train answers, and when each
 * phase ran. It moves forward through its methods only (scored → assembled → training → trained →
 * syncing → synced); its numbers become one {@code metrics.jsonl} row ({@link #metrics()}).
 */
final class Iteration {
  private final int index;
  private final IterationRun.Scored scored;
  private Experience experience;
  private double observedKl;
  private double klCoef;
  private final Set<Role> pendingTrain = EnumSet.noneOf(Role.class);
  private final Map<String, Double> trainMetrics = new LinkedHashMap<>();
  private long trainedAtVersion;
  private long trainStart;
  private long trainEnd;
  private long syncStart;
  private long syncEnd;
  private long syncBytes;

  Iteration(IterationRun.Scored scored) {
    this.index = scored.index();
    this.scored = scored;
  }

  int index() {
    return index;
  }

  boolean assembled() {
    return experience != null;
  }

  /** The experience with KL coefficient β (pure; runs off the actor thread). */
  Experience assemble(ExperienceMaker.Options options, double beta) {
    Map<Role, TensorMap> s = scored.scores();
    return ExperienceMaker.assemble(options, KlController.fixed(beta), scored.rows(),
        WireArrays.doubles(s.get(Role.REWARD).require(TensorNames.SCORES)),
        s.get(Role.POLICY).require(TensorNames.OLD_LOG_PROBS).toFloatArray(),
        floats(s.get(Role.REFERENCE), TensorNames.REF_LOG_PROBS), floats(s.get(Role.CRITIC), TensorNames.VALUES),
        scored.generatedWith());
  }

  private static float[] floats(TensorMap m, String name) {
    return m == null ? null : m.require(name).toFloatArray();
  }

  void assembled(Experience e, double observedKl, double klCoef) {
    this.experience = e;
    this.observedKl = observedKl;
    this.klCoef = klCoef;
  }

  double observedKl() {
    return observedKl;
  }

  int batchSize() {
    return experience.batchSize();
  }

  long generatedWith() {
    return scored.generatedWith();
  }

  /** The experience batch the trainers consume, named by {@code id}. */
  ExperienceBatch batch(RequestId id) {
    return new ExperienceBatch(id, index, scored.generatedWith(), WireArrays.experience(experience));
  }

  void trainingStarted(long version, List<Role> trainers) {
    trainedAtVersion = version;
    pendingTrain.addAll(trainers);
    trainStart = System.nanoTime();
  }

  /** {@code role} finished its step with {@code metrics}; true when every trainer has. */
  boolean trained(Role role, Map<String, Double> metrics) {
    metrics.forEach((k, v) -> {
      if (!Double.isNaN(v)) {
        trainMetrics.put(k, v);
      }
    });
    pendingTrain.remove(role);
    if (pendingTrain.isEmpty()) {
      trainEnd = System.nanoTime();
      return true;
    }
    return false;
  }

  void syncStarted() {
    syncStart = System.nanoTime();
  }

  void synced(long bytes) {
    syncBytes = bytes;
    syncEnd = System.nanoTime();
  }

  private long generatedTokens() {
    long n = 0;
    for (int len : scored.rows().responseLengths()) {
      n += len;
    }
    return n;
  }

  private static double seconds(long start, long end) {
    return start == 0 || end == 0 ? Double.NaN : (end - start) / 1e9;
  }

  /** The metrics.jsonl row of this iteration (without the run-level fields the log adds). */
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
    m.put("generated_with_version", (double) scored.generatedWith());
    m.put("staleness", (double) (trainedAtVersion - scored.generatedWith()));
    for (String k : List.of("clip_fraction", "policy_kl", "entropy", "kl_loss", "actor_grad_norm",
        "critic_grad_norm")) {
      m.put(k, trainMetrics.getOrDefault(k, Double.NaN));
    }
    m.put("time_generate", scored.generateSeconds());
    m.put("time_score", scored.scoreSeconds());
    m.put("time_train", seconds(trainStart, trainEnd));
    m.put("time_sync", seconds(syncStart, syncEnd));
    m.put("tokens_per_s", generatedTokens() / scored.generateSeconds());
    m.put("sync_bytes", (double) syncBytes);
    if (!Double.isNaN(scored.filterPassRate())) {
      m.put("dynamic_filtering_pass_rate", scored.filterPassRate());
    }
    rewardLogs(m);
    return m;
  }

  /** The mean of each {@code extra_logs} value a remote reward endpoint sent, as {@code remote_<name>}. */
  private void rewardLogs(Map<String, Double> m) {
    TensorMap reward = scored.scores().get(Role.REWARD);
    for (String name : reward.names()) {
      if (!name.startsWith(TensorNames.EXTRA_LOG_PREFIX)) {
        continue;
      }
      double sum = 0;
      int count = 0;
      for (float v : reward.require(name).toFloatArray()) {
        if (!Float.isNaN(v)) {
          sum += v;
          count++;
        }
      }
      m.put("remote_" + name.substring(TensorNames.EXTRA_LOG_PREFIX.length()), count == 0 ? Double.NaN : sum / count);
    }
  }
}
