package org.rlhfnode.node.supervisor;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.SamplingParams;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.node.ppo.WireArrays;

/**
 * The held-out evaluations of a run: greedy responses to the eval prompts from the weights on the
 * engines, scored by the reward role; the mean is {@code eval_reward_mean}. One runs before the first
 * iteration (the starting policy), then after every {@code eval_steps} iterations and after the last,
 * one at a time, as an {@link IterationRun} child beside the training pipeline. A checkpoint waits for
 * the evaluations due before it, so their rows are in the checkpoint's metrics.
 */
final class Evaluations {
  private final RunPlan.PromptSet prompts;
  private final PpoSettings settings;
  private final Deque<Integer> due = new ArrayDeque<>();
  private Integer running;
  private ActorRef<IterationRun.Command> child;
  private boolean stopped;

  Evaluations(RunPlan.PromptSet prompts, PpoSettings settings) {
    this.prompts = prompts;
    this.settings = settings;
  }

  private boolean enabled() {
    return prompts.size() > 0;
  }

  /** The run (re)starts after {@code done} iterations; true when the starting policy is to be evaluated. */
  boolean restart(int done) {
    clear();
    stopped = false;
    if (enabled() && done == 0) {
      due.add(0);
      return true;
    }
    return false;
  }

  /** Queues the evaluation after iteration {@code iteration} (1-based) when one is due; true if it is. */
  boolean due(int iteration, boolean last) {
    int every = settings.run().evalSteps();
    if (enabled() && !stopped && (last || (every > 0 && iteration % every == 0))) {
      due.add(iteration);
      return true;
    }
    return false;
  }

  /** The next evaluation to run, with the engines' weights {@code version}, when none runs. */
  Optional<IterationRun.Plan> next(long lineage, long version, List<ActorRef<RolloutCommand>> engines) {
    if (running != null || due.isEmpty()) {
      return Optional.empty();
    }
    running = due.poll();
    SamplingParams greedy = new SamplingParams(0, 1, 0, settings.experience().generateMaxLen(), 1, 0);
    return Optional.of(new IterationRun.Plan(lineage, running, true, prompts.ids(), prompts.labels(), 1, greedy,
        version, Set.of(Role.REWARD), engines, settings.run().roleTimeout(), Trainers.MAX_ATTEMPTS, null));
  }

  void started(ActorRef<IterationRun.Command> c) {
    child = c;
  }

  /** Whether the evaluation after iteration {@code iteration} is the one running (a late report is not). */
  boolean isRunning(int iteration) {
    return running != null && running == iteration;
  }

  /** The evaluation that runs now ended. */
  void finished() {
    running = null;
    child = null;
  }

  /** The child running the evaluation now, if any. */
  Optional<ActorRef<IterationRun.Command>> runningChild() {
    return Optional.ofNullable(child);
  }

  /** The run stops: nothing runs or is queued from now on; returns the child to stop, if any. */
  Optional<ActorRef<IterationRun.Command>> stop() {
    stopped = true;
    return clear();
  }

  /** Drops what is due and running; returns the child to stop, if any. */
  Optional<ActorRef<IterationRun.Command>> clear() {
    due.clear();
    running = null;
    ActorRef<IterationRun.Command> c = child;
    child = null;
    return Optional.ofNullable(c);
  }

  boolean idle() {
    return due.isEmpty() && running == null;
  }

  /** The mean reward of an evaluation's samples. */
  static double meanReward(IterationRun.Scored s) {
    double[] scores = WireArrays.doubles(s.scores().get(Role.REWARD).require(TensorNames.SCORES));
    double mean = 0;
    for (double x : scores) {
      mean += x / scores.length;
    }
    return mean;
  }
}
