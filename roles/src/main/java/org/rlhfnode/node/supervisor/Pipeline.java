package org.rlhfnode.node.supervisor;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Where the iterations of a run stand, for the {@link Supervisor}: which have been started (their
 * rollout runs in a child), which are scored and waiting, which one trains, how many are trained and
 * synced, and which checkpoint was committed last. It decides what may start (backpressure, staleness
 * and the checkpoint barrier) and when the pipeline is drained; the supervisor does the messaging.
 *
 * <p>Rules: iteration j's rollout starts only while fewer than {@code max_staleness + 1} iterations are
 * started but untrained, only from weights at least version j − k, and only once the checkpoint of the
 * last {@code save_steps} boundary at or before j is committed. That barrier drains the pipeline at each
 * checkpoint, so a checkpoint never has experience in flight and a run continued from it makes the same
 * iterations as one that never stopped. Used on the supervisor's thread only.
 */
final class Pipeline {
  private final int iterations;
  private final int maxStaleness;
  private final int saveSteps;
  private final TreeMap<Integer, Iteration> scored = new TreeMap<>();
  private final Set<Integer> running = new TreeSet<>();
  private int trained;
  private int next;
  private int checkpointed;
  private long trainerVersion;
  private long syncedVersion;
  private boolean training;
  private boolean assembling;

  /**
   * @param iterations the run's length
   * @param maxStaleness k
   * @param saveSteps checkpoint every this many iterations; ≤ 0: never
   */
  Pipeline(int iterations, int maxStaleness, int saveSteps) {
    this.iterations = iterations;
    this.maxStaleness = maxStaleness;
    this.saveSteps = saveSteps;
  }

  /** Starts over after {@code done} iterations, with weights {@code version} on the trainer and the engines. */
  void restoredAt(int done, long version) {
    scored.clear();
    running.clear();
    trained = done;
    next = done;
    checkpointed = done;
    trainerVersion = version;
    syncedVersion = version;
    training = false;
    assembling = false;
  }

  int iterations() {
    return iterations;
  }

  int trained() {
    return trained;
  }

  long trainerVersion() {
    return trainerVersion;
  }

  long syncedVersion() {
    return syncedVersion;
  }

  boolean training() {
    return training;
  }

  /** Iterations whose rollouts are started and not yet scored. */
  int rolloutsInFlight() {
    return running.size();
  }

  /** Scored iterations not yet trained and synced. */
  int scoredWaiting() {
    return scored.size();
  }

  /** Whether iteration {@link #nextToStart()} may start now. */
  boolean canStart() {
    int j = next;
    int barrier = saveSteps > 0 ? (j / saveSteps) * saveSteps : 0;
    return j < iterations && j - trained <= maxStaleness && syncedVersion >= j - maxStaleness && checkpointed >= barrier;
  }

  /** The next iteration to start; marks it running. */
  int start() {
    running.add(next);
    return next++;
  }

  /** Iteration {@code it}'s rollout was scored. */
  void scored(Iteration it) {
    running.remove(it.index());
    scored.put(it.index(), it);
  }

  /** The iteration to assemble now (the next to train, scored, not yet assembled), or null. */
  Iteration toAssemble() {
    Iteration it = scored.get(trained);
    return !training && !assembling && it != null && !it.assembled() ? it : null;
  }

  void assembling(boolean on) {
    assembling = on;
  }

  /** The next iteration to train when it is assembled and nothing trains, or null. */
  Iteration toTrain() {
    Iteration it = scored.get(trained);
    return !training && it != null && it.assembled() ? it : null;
  }

  void trainingStarted() {
    training = true;
  }

  /** The training of the next iteration ended with the trainer at {@code version}. */
  void trainingDone(long version) {
    training = false;
    trainerVersion = version;
    trained++;
  }

  /** Version {@code version} is on every engine; iteration {@code it} (if any) is complete. */
  void synced(long version, Iteration it) {
    syncedVersion = version;
    if (it != null) {
      scored.remove(it.index());
    }
  }

  /** The checkpoint after {@code iteration} iterations is committed. */
  void checkpointed(int iteration) {
    checkpointed = Math.max(checkpointed, iteration);
  }

  /** Whether iterations were trained since the last checkpoint. */
  boolean unsaved() {
    return trained > checkpointed;
  }

  /** Whether a checkpoint is due now: a boundary (or the last iteration) trained and not yet saved. */
  boolean checkpointDue() {
    return saveSteps > 0 && trained > checkpointed && (trained % saveSteps == 0 || trained == iterations);
  }

  /** Nothing started, scored or training beyond what is trained, and the engines hold the trainer's weights. */
  boolean drained() {
    return running.isEmpty() && scored.isEmpty() && !training && !assembling && syncedVersion == trainerVersion;
  }

  /** Whether every iteration is trained and synced. */
  boolean complete() {
    return trained == iterations && drained();
  }

  /** The scored iteration {@code index}, or null when it is not (or no longer) waiting. */
  Iteration scoredAt(int index) {
    return scored.get(index);
  }

  /**
   * Drops what has not started training (the run stops): returns the iterations whose rollout children
   * to stop. Iterations being trained or synced stay.
   */
  List<Integer> dropUntrained() {
    List<Integer> dropped = new ArrayList<>(running);
    running.clear();
    scored.keySet().removeIf(i -> i > trained || (i == trained && !training));
    assembling = false;
    next = trained + (training ? 1 : 0);
    return dropped;
  }
}
