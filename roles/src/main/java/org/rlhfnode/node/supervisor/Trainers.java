package org.rlhfnode.node.supervisor;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.SyncWeights;
import org.rlhfnode.messages.TrainStep;
import org.rlhfnode.messages.TrainStepDone;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.messages.WeightsSynced;
import org.rlhfnode.node.actor.RoleErrors;
import org.rlhfnode.node.ppo.PpoSettings;

/**
 * The stateful roles the {@link Supervisor} uses (the restored policy trainer and critic) and the
 * requests to them that go one at a time: train steps, and weight syncs from the policy trainer to the
 * rollout engines, queued so that only one is in flight and none is sent while a step trains (the
 * trainer's weights would change under it). A sync that fails is sent again after 1, 2, 4 s, at most
 * {@link #MAX_ATTEMPTS} times in a row. Engines found holding older weights than the run's are
 * remembered and caught up with a sync of the current version to them alone, when nothing trains.
 * Requests go out with {@code ask}, so each answer (or its timeout) comes back tagged with the lineage
 * it belongs to. Used on the supervisor's thread only.
 */
final class Trainers {
  /** Attempts of a request to a role, and consecutive failed syncs, before the run stops. */
  static final int MAX_ATTEMPTS = 3;
  /** The wait before a failed sync is sent again, doubled for each further failure in a row. */
  private static final Duration RETRY_DELAY = Duration.ofSeconds(1);

  /** Why a sync is made. */
  enum SyncKind {
    /** The restored version, to every engine (after a restore, including a fresh start). */
    RESTORE,
    /** The version an iteration's training made, to every engine. */
    REGULAR,
    /** The current version to engines found behind. */
    CATCH_UP
  }

  /** A train or sync answer, or its failure. */
  sealed interface Answer extends Supervisor.Command permits TrainDone, SyncDone {
    long lineage();
  }

  /** {@code role}'s answer to the train step of iteration {@code index}, or the ask's failure. */
  record TrainDone(long lineage, int index, Role role, TrainStepDone done, Throwable error) implements Answer {}

  /** The answer to a sync of {@code version} ({@code index}: the iteration of a regular one, else −1). */
  record SyncDone(long lineage, SyncKind kind, long version, int index, List<ActorRef<RolloutCommand>> targets,
      WeightsSynced synced, Throwable error) implements Answer {
    boolean ok() {
      return error == null && synced.ok();
    }

    String failure() {
      return error != null ? RoleErrors.oneLine(error) : synced.error();
    }
  }

  private record SyncRequest(long lineage, SyncKind kind, long version, int index,
      List<ActorRef<RolloutCommand>> targets) {}

  private final ActorContext<Supervisor.Command> ctx;
  private final PpoSettings settings;
  private final Deque<SyncRequest> queue = new ArrayDeque<>();
  private final Set<ActorRef<RolloutCommand>> behind = new LinkedHashSet<>();
  private Map<Role, ActorRef<TrainerCommand>> use = Map.of();
  private SyncRequest inFlight;
  private int failures;
  private long retryAt; // a failed sync is sent again no sooner than this (System.nanoTime)
  private long policyVersion;

  Trainers(ActorContext<Supervisor.Command> ctx, PpoSettings settings) {
    this.ctx = ctx;
    this.settings = settings;
  }

  /** From now on the run uses these instances. */
  void use(Map<Role, ActorRef<TrainerCommand>> refs) {
    use = Map.copyOf(refs);
  }

  Map<Role, ActorRef<TrainerCommand>> refs() {
    return use;
  }

  /** The stateful role whose instance in use is no longer listed, or null. */
  Role lostIn(RoleSet roles) {
    for (Map.Entry<Role, ActorRef<TrainerCommand>> e : use.entrySet()) {
      if (!roles.trainers(e.getKey()).contains(e.getValue())) {
        return e.getKey();
      }
    }
    return null;
  }

  /** Forgets every request (a new lineage). */
  void clear() {
    queue.clear();
    behind.clear();
    inFlight = null;
    failures = 0;
    retryAt = 0;
  }

  /** Called every second: sends a sync whose retry delay is over. */
  void tick() {
    sendNext();
  }

  /** Sends iteration {@code it}'s batch, then its step, to every stateful role; the weights are at {@code version}. */
  void train(long lineage, Iteration it, long version) {
    RequestId batchId = RequestId.of(lineage, it.index(), RequestId.Kind.BATCH);
    RequestId stepId = RequestId.of(lineage, it.index(), RequestId.Kind.TRAIN);
    ExperienceBatch batch = it.batch(batchId);
    use.forEach((role, ref) -> {
      ref.tell(batch);
      ctx.ask(TrainStepDone.class, ref, settings.run().roleTimeout(),
          replyTo -> new TrainStep(stepId, it.index(), version, List.of(batchId), replyTo),
          (done, error) -> new TrainDone(lineage, it.index(), role, done, error));
    });
  }

  /** The policy's step made weight version {@code version}. */
  void policyTrained(long version) {
    policyVersion = version;
  }

  long versionAfterTraining() {
    return policyVersion;
  }

  /** Queues a sync of {@code version} to every engine. */
  void sync(long lineage, SyncKind kind, long version, int index) {
    sync(new SyncRequest(lineage, kind, version, index, List.of()));
  }

  private void sync(SyncRequest r) {
    queue.add(r);
    sendNext();
  }

  /** Whether no sync waits to be sent (a step may start: its trainer gets the sync first). */
  boolean nothingQueued() {
    return queue.isEmpty();
  }

  private void sendNext() {
    if (inFlight != null || queue.isEmpty() || System.nanoTime() < retryAt) {
      return;
    }
    SyncRequest r = queue.poll();
    inFlight = r;
    ctx.ask(WeightsSynced.class, use.get(Role.POLICY), settings.run().roleTimeout(),
        replyTo -> new SyncWeights(r.version(), r.targets(), replyTo),
        (synced, error) -> new SyncDone(r.lineage(), r.kind(), r.version(), r.index(), r.targets(), synced, error));
  }

  /** What to do after a sync's answer. */
  enum Verdict {
    /** Nothing (it went through, or it was sent again, or a catch-up was dropped). */
    CARRY_ON,
    /** The run stops: complete the iteration without the sync. */
    ABANDON,
    /** The version cannot be sent again (the trainer has moved on): restore the last checkpoint. */
    ROLL_BACK,
    /** Syncs failed {@link #MAX_ATTEMPTS} times in a row: end the run. */
    FAIL
  }

  /**
   * Takes a sync's answer. A failed sync is sent again while the trainer still holds that version; one
   * the trainer has trained past (max_staleness ≥ 1 lets the next step start while a sync runs) cannot
   * be, and the run rolls back to its last checkpoint, which replays the same iterations. A catch-up is
   * dropped (the engines report again if still behind); while stopping, a failure is abandoned.
   */
  Verdict synced(SyncDone s, Pipeline pipeline, boolean stopping) {
    inFlight = null;
    if (s.ok()) {
      failures = 0;
      if (s.kind() == SyncKind.CATCH_UP) {
        s.targets().forEach(behind::remove);
      } else {
        behind.clear();
      }
      sendNext();
      return Verdict.CARRY_ON;
    }
    ctx.getLog().warn("weight sync of version {} failed: {}", s.version(), s.failure());
    if (stopping) {
      queue.clear();
      return Verdict.ABANDON;
    }
    if (s.kind() == SyncKind.CATCH_UP) { // not counted: an engine still loading may be slow to take it
      sendNext();
      return Verdict.CARRY_ON;
    }
    if (++failures > MAX_ATTEMPTS) {
      return Verdict.FAIL;
    }
    if (pipeline.training() || pipeline.trainerVersion() != s.version()) {
      return Verdict.ROLL_BACK;
    }
    queue.addFirst(new SyncRequest(s.lineage(), s.kind(), s.version(), s.index(), s.targets()));
    retryAt = System.nanoTime() + RETRY_DELAY.toNanos() * (1L << (failures - 1)); // 1, 2, 4 s
    return Verdict.CARRY_ON;
  }

  /** An engine holds {@code installed}, older than the {@code wanted} version of the run. */
  void behind(ActorRef<RolloutCommand> engine, long installed, long wanted) {
    if (behind.add(engine)) {
      ctx.getLog().info("rollout engine {} holds weight version {}, the run is at {}: syncing it", engine.path(),
          installed, wanted);
    }
  }

  /** Sends the current version to the engines behind, if any, when nothing trains or syncs. */
  void catchUp(long lineage, RoleSet roles, Pipeline pipeline) {
    behind.retainAll(roles.engines());
    if (behind.isEmpty() || inFlight != null || !queue.isEmpty() || pipeline.training()
        || pipeline.trainerVersion() != pipeline.syncedVersion()) {
      return;
    }
    sync(new SyncRequest(lineage, SyncKind.CATCH_UP, pipeline.syncedVersion(), -1, List.copyOf(behind)));
  }
}
