package org.rlhfnode.node.role;

import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.RolloutRejected;
import org.rlhfnode.messages.RolloutRequest;
import org.rlhfnode.messages.RolloutReply;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.BiConsumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.rlhfnode.messages.SamplingParams;
import org.rlhfnode.messages.ScoreFailed;
import org.rlhfnode.messages.ScoreReply;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;

/**
 * Held-out evaluation inside the {@link Supervisor}: greedy responses to the eval prompts from the
 * current weights, scored by the reward role; the mean is {@code eval_reward_mean}. One runs before the
 * first iteration (the starting policy), then after every {@code eval_steps} iterations and after the
 * last, one at a time, beside the training pipeline.
 */
final class Evaluation {
  private final List<long[]> prompts;
  private final PpoSettings settings;
  private final RoleDirectory roles;
  private final ActorRef<RolloutReply> rolloutReplies;
  private final ActorRef<ScoreReply> scoreReplies;
  private final Deque<Integer> due = new ArrayDeque<>();
  private final List<double[]> results = new ArrayList<>();
  private Integer running;
  private boolean initialDone;

  Evaluation(List<long[]> prompts, PpoSettings settings, RoleDirectory roles,
      ActorRef<RolloutReply> rolloutReplies, ActorRef<ScoreReply> scoreReplies) {
    this.prompts = prompts;
    this.settings = settings;
    this.roles = roles;
    this.rolloutReplies = rolloutReplies;
    this.scoreReplies = scoreReplies;
    this.initialDone = prompts.isEmpty();
    if (!prompts.isEmpty()) {
      due.add(0);
    }
  }

  boolean enabled() {
    return !prompts.isEmpty();
  }

  boolean initialDone() {
    return initialDone;
  }

  boolean allDone() {
    return due.isEmpty() && running == null;
  }

  boolean owns(String requestId) {
    return requestId.startsWith("eval-");
  }

  /** Queues an evaluation after iteration {@code iteration} (1-based). */
  void request(int iteration) {
    if (enabled()) {
      due.add(iteration);
    }
  }

  void startIfIdle(long version) {
    if (running != null || due.isEmpty()) {
      return;
    }
    running = due.poll();
    List<List<Integer>> ids = RolloutAssembly.promptLists(prompts);
    SamplingParams greedy = new SamplingParams(0, 1, 0, settings.experience().generateMaxLen(), 1, 0);
    String id = "eval-" + running + "-gen";
    roles.sendRollout(id, v -> new RolloutRequest(id, ids, greedy, v, rolloutReplies));
  }

  /** Takes a rollout answer; true when the evaluation has finished (never here: scoring follows). */
  boolean onRollout(RolloutReply reply, long version) {
    if (!roles.isPending(reply.requestId())) {
      return false;
    }
    if (reply instanceof RolloutRejected r) {
      // asked again with the version of that moment; a rollout that keeps failing ends this evaluation
      if (roles.retry(r.requestId(), r.reason(), r.installedVersion() >= 0) == null) {
        return false;
      }
      roles.complete(r.requestId());
      return finish(Double.NaN);
    }
    roles.complete(reply.requestId());
    RolloutRows rows = RolloutAssembly.rows(prompts, List.of((GeneratedSequences) reply), 1);
    String id = "eval-" + running + "-reward";
    roles.sendScore(RoleDirectory.REWARD, id, new ScoreRequest(id, version, WireArrays.rows(rows), scoreReplies));
    return false;
  }

  /** Takes a reward answer; true when the evaluation has finished. */
  boolean onScore(ScoreReply reply) {
    if (!roles.isPending(reply.requestId())) {
      return false;
    }
    if (reply instanceof ScoreFailed f) {
      String err = roles.retry(f.requestId(), f.reason(), true);
      if (err == null) {
        return false;
      }
      roles.complete(f.requestId());
      return finish(Double.NaN);
    }
    roles.complete(reply.requestId());
    double[] scores = WireArrays.doubles(((ScoredExperience) reply).tensors().require(TensorNames.SCORES));
    double mean = 0;
    for (double s : scores) {
      mean += s / scores.length;
    }
    return finish(mean);
  }

  /** Records the running evaluation's mean reward (NaN when it failed); true, it has finished. */
  private boolean finish(double mean) {
    results.add(new double[] {running, mean});
    if (running == 0) {
      initialDone = true;
    }
    running = null;
    return true;
  }

  /** Hands each finished evaluation (iteration, mean reward) to {@code sink}, once. */
  void drainResults(BiConsumer<Integer, Double> sink) {
    results.forEach(r -> sink.accept((int) r[0], r[1]));
    results.clear();
  }
}
