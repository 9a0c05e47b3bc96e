package org.rlhfnode.node.role;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.rlhfnode.messages.CheckpointFailed;
import org.rlhfnode.messages.CheckpointRequest;
import org.rlhfnode.messages.CheckpointSaved;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.RestoreFailed;
import org.rlhfnode.messages.RestoreState;
import org.rlhfnode.messages.RoleStatus;
import org.rlhfnode.messages.ScoreFailed;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.StateRestored;
import org.rlhfnode.messages.StatusQuery;
import org.rlhfnode.messages.SyncWeights;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TrainStep;
import org.rlhfnode.messages.TrainStepDone;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.messages.WeightsSynced;
import org.rlhfnode.node.actor.RoleErrors;
import org.rlhfnode.node.actor.RoleExecutor;
import org.rlhfnode.node.sync.WeightSync;
import org.rlhfnode.runtime.algo.ppo.PpoUpdater;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;
import org.rlhfnode.runtime.io.CheckpointFormatException;

/**
 * A training role — the policy trainer or the critic (see {@link Learner}). It answers scoring requests
 * with its current weights (lp_old or V_old), keeps the {@link ExperienceBatch}es it is sent, and on a
 * {@link TrainStep} trains on exactly the listed batches: each batch is consumed once (a repeated batch
 * id is ignored, a step naming a consumed batch is refused), and a batch more than
 * {@code maxStaleness} versions behind the weights is refused. The policy trainer counts weight
 * versions (one per step) and publishes them to the rollout engines on {@link SyncWeights}. It writes
 * its part of each checkpoint ({@link CheckpointRequest}) and puts its whole state back on
 * {@link RestoreState}, after which it belongs to that run. All model work runs in arrival order on the
 * role's own thread, where the loaded model lives.
 */
public final class TrainerRole extends AbstractBehavior<TrainerCommand> {

  private record Trained(TrainStep step, List<RequestId> batchIds, PpoUpdater.Metrics metrics, Throwable error)
      implements TrainerCommand.Local {}

  private record Scored(ScoreRequest request, long version, TensorMap result, Throwable error)
      implements TrainerCommand.Local {}

  private record Saved(CheckpointRequest request, Path path, String sha, long bytes, Throwable error)
      implements TrainerCommand.Local {}

  private record Published(SyncWeights request, WeightsSynced result) implements TrainerCommand.Local {}

  private record Restored(RestoreState request, long version, Throwable error) implements TrainerCommand.Local {}

  private final Learner learner;
  private final ActorRef<TrainerCommand> self; // whom the other nodes of a trainer over several nodes watch
  private final int maxStaleness;
  private final String device;
  private final ExecutorService executor;
  private final CompletableFuture<Void> loaded;
  private final WeightSync weightSync;
  private final Map<RequestId, ExperienceBatch> stash = new HashMap<>();
  private final Set<RequestId> consumed = new HashSet<>();
  private Learner.Loaded current; // the role's thread only
  private boolean pristine = true; // the role's thread only: current is the pretrained model, never trained
  private TrainStep waiting;
  private boolean training;
  private boolean restoring;
  private long version;
  private int inFlight;
  private String runId = "";

  /**
   * @param learner what is trained (policy or critic) and how it loads
   * @param maxStaleness the largest accepted {@code version − batch.policyVersion}
   * @param weightSync how the policy reaches the rollout engines; null for the critic
   */
  public static Behavior<TrainerCommand> create(Learner learner, int maxStaleness, WeightSync weightSync) {
    return Behaviors.setup(ctx -> new TrainerRole(ctx, learner, maxStaleness, weightSync));
  }

  private TrainerRole(ActorContext<TrainerCommand> ctx, Learner learner, int maxStaleness, WeightSync weightSync) {
    super(ctx);
    this.learner = learner;
    this.maxStaleness = maxStaleness;
    this.device = learner.device().toString();
    this.weightSync = weightSync;
    this.executor = RoleExecutor.create(learner.role().label() + "-" + ctx.getSelf().path().name());
    this.self = ctx.getSelf();
    this.loaded = CompletableFuture.runAsync(() -> guarded(() -> current = learner.load(self)), executor);
  }

  /** The trainer's group over several nodes failed (a node lost): this trainer ends, as if its node had. */
  private static final class GroupLost extends IllegalStateException {
    GroupLost(Throwable cause) {
      super(RoleErrors.oneLine(cause), cause);
    }
  }

  private record GroupFailed(Throwable error) implements TrainerCommand.Local {}

  /**
   * The role's thread: runs {@code work}; a failure of a group over several nodes that only follows
   * from a node going away becomes {@link GroupLost} (a node's own error stays the run's error).
   */
  private <T> T guarded(java.util.function.Supplier<T> work) {
    try {
      return work.get();
    } catch (RuntimeException e) {
      if (learner.spansNodes() && RemoteRanks.peerLost(e)) {
        throw new GroupLost(e);
      }
      throw e;
    }
  }

  /** Runs {@code work} on the loaded model, on the role's thread, after everything queued before it. */
  private <T> CompletableFuture<T> onModel(Function<Learner.Loaded, T> work) {
    return loaded.thenApplyAsync(v -> guarded(() -> {
      if (current == null) {
        throw new IllegalStateException(learner.role() + ": no model: restoring the initial state failed");
      }
      return work.apply(current);
    }), executor);
  }

  /** {@code pipeToSelf}, except that a lost group ends the trainer instead of answering. */
  private <T> void pipe(CompletableFuture<T> work, java.util.function.BiFunction<T, Throwable, TrainerCommand> done) {
    getContext().pipeToSelf(work, (v, error) -> {
      for (Throwable t = error; t != null; t = t.getCause()) {
        if (t instanceof GroupLost) {
          return new GroupFailed(t);
        }
      }
      return done.apply(v, error);
    });
  }

  /**
   * Ends this trainer without answering: the supervisor sees the role lost, as when a node dies, and
   * restores the next trainer the lead starts once every node is back (a follower's failure alone
   * is seen here first, through the group's collectives, before the cluster marks its node unreachable).
   */
  private Behavior<TrainerCommand> onGroupFailed(GroupFailed f) {
    getContext().getLog().warn("{}: the trainer's group over several nodes failed ({}); this trainer stops",
        learner.role(), f.error().getMessage());
    return Behaviors.stopped();
  }

  @Override
  public Receive<TrainerCommand> createReceive() {
    return newReceiveBuilder()
        .onMessage(ScoreRequest.class, this::onScore)
        .onMessage(Scored.class, this::onScored)
        .onMessage(ExperienceBatch.class, this::onBatch)
        .onMessage(TrainStep.class, this::onTrainStep)
        .onMessage(Trained.class, this::onTrained)
        .onMessage(SyncWeights.class, this::onSync)
        .onMessage(Published.class, this::onPublished)
        .onMessage(CheckpointRequest.class, this::onCheckpoint)
        .onMessage(Saved.class, this::onSaved)
        .onMessage(RestoreState.class, this::onRestore)
        .onMessage(Restored.class, this::onRestored)
        .onMessage(StatusQuery.class, this::onStatus)
        .onMessage(GroupFailed.class, this::onGroupFailed)
        .onSignal(PostStop.class, s -> onStop())
        .build();
  }

  private Behavior<TrainerCommand> onScore(ScoreRequest r) {
    inFlight++;
    long at = version;
    pipe(onModel(l -> l.score(r)),
        (map, error) -> new Scored(r, at, map, error));
    return this;
  }

  private Behavior<TrainerCommand> onScored(Scored done) {
    inFlight--;
    ScoreRequest r = done.request();
    if (done.error() != null) {
      RoleErrors.warn(getContext().getLog(), learner.role() + ": scoring " + r.requestId() + " failed", done.error());
      r.replyTo().tell(new ScoreFailed(r.requestId(), learner.role(), RoleErrors.oneLine(done.error())));
    } else {
      r.replyTo().tell(new ScoredExperience(r.requestId(), done.version(), learner.role(), done.result()));
    }
    return this;
  }

  private Behavior<TrainerCommand> onBatch(ExperienceBatch b) {
    if (consumed.contains(b.batchId()) || stash.putIfAbsent(b.batchId(), b) != null) {
      getContext().getLog().debug("{}: batch {} delivered again, ignored", learner.role(), b.batchId());
      return this;
    }
    if (waiting != null && stash.keySet().containsAll(waiting.batchIds())) {
      TrainStep step = waiting;
      waiting = null;
      return onTrainStep(step);
    }
    return this;
  }

  private Behavior<TrainerCommand> onTrainStep(TrainStep step) {
    String refusal = refusal(step);
    if (refusal != null) {
      step.replyTo().tell(TrainStepDone.failed(step, learner.role(), version, refusal));
      return this;
    }
    if (!stash.keySet().containsAll(step.batchIds())) {
      waiting = step; // the batches are still on their way (another Artery lane)
      return this;
    }
    training = true;
    List<ExperienceBatch> batches = new ArrayList<>();
    for (RequestId id : step.batchIds()) {
      batches.add(stash.remove(id));
      consumed.add(id);
    }
    pipe(onModel(l -> {
      pristine = false;
      return l.train(batches, step.iteration());
    }),
        (m, error) -> new Trained(step, step.batchIds(), m, error));
    return this;
  }

  /** Why a step cannot run now, or null. */
  private String refusal(TrainStep step) {
    if (training || waiting != null || restoring) {
      return training || waiting != null ? "a train step is already running" : "the trainer is restoring its state";
    }
    if (learner.countsVersions() && step.policyVersion() != version) {
      return "version mismatch: the step expects weights " + step.policyVersion() + ", the trainer holds " + version;
    }
    for (RequestId id : step.batchIds()) {
      if (consumed.contains(id)) {
        return "batch " + id + " was already consumed";
      }
      ExperienceBatch b = stash.get(id);
      if (b != null && b.staleness(version) > maxStaleness) {
        return "batch " + id + " is " + b.staleness(version) + " versions old, more than max_staleness "
            + maxStaleness;
      }
    }
    return null;
  }

  private Behavior<TrainerCommand> onTrained(Trained done) {
    training = false;
    TrainStep step = done.step();
    if (done.error() != null) {
      RoleErrors.warn(getContext().getLog(), learner.role() + ": train step " + step.stepId() + " failed", done.error());
      step.replyTo().tell(TrainStepDone.failed(step, learner.role(), version, RoleErrors.oneLine(done.error())));
      return this;
    }
    if (learner.countsVersions()) {
      version++;
    }
    step.replyTo().tell(new TrainStepDone(step.stepId(), learner.role(), step.iteration(), version, done.batchIds(),
        Learner.metrics(done.metrics()), ""));
    return this;
  }

  private Behavior<TrainerCommand> onSync(SyncWeights sync) {
    String refusal = weightSync == null ? learner.role() + " publishes no weights"
        : training || restoring ? "the trainer is " + (training ? "training" : "restoring") + "; its weights are changing"
        : sync.version() != version ? "the trainer holds version " + version + ", not " + sync.version() : null;
    if (refusal != null) {
      sync.replyTo().tell(WeightsSynced.failed(sync.version(), weightSync == null ? "none" : weightSync.transport(),
          refusal));
      return this;
    }
    long v = version;
    CompletableFuture<WeightsSynced> result = onModel(l -> l.payload(v))
        .thenCompose(payload -> weightSync.publish(payload, sync.engines()));
    pipe(result, (r, error) -> new Published(sync, error == null ? r
        : WeightsSynced.failed(sync.version(), weightSync.transport(), RoleErrors.oneLine(error))));
    return this;
  }

  private Behavior<TrainerCommand> onPublished(Published p) {
    p.request().replyTo().tell(p.result());
    return this;
  }

  private Behavior<TrainerCommand> onCheckpoint(CheckpointRequest r) {
    Path dir = Path.of(r.directory()).resolve(learner.role().label());
    if (learner.countsVersions() && !r.export() && r.policyVersion() != version) {
      r.replyTo().tell(new CheckpointFailed(r.checkpointId(), learner.role(), "the trainer holds weight version "
          + version + ", the checkpoint is of version " + r.policyVersion()));
      return this;
    }
    long v = version;
    String run = runId;
    CompletableFuture<String> sha = onModel(l -> {
      if (r.export()) {
        l.export(dir);
        return "";
      }
      return l.writePart(dir, RunCheckpoints.tag(r.iteration()), r.iteration(), v, run);
    });
    pipe(sha, (s, error) -> new Saved(r, dir, s, error == null ? Learner.bytesUnder(dir) : 0,
        error));
    return this;
  }

  private Behavior<TrainerCommand> onSaved(Saved s) {
    CheckpointRequest r = s.request();
    if (s.error() != null) {
      RoleErrors.warn(getContext().getLog(), learner.role() + ": writing " + s.path() + " failed", s.error());
      r.replyTo().tell(new CheckpointFailed(r.checkpointId(), learner.role(), RoleErrors.oneLine(s.error())));
    } else {
      r.replyTo().tell(new CheckpointSaved(r.checkpointId(), learner.role(), r.iteration(), version,
          s.path().toString(), s.bytes(), s.sha()));
    }
    return this;
  }

  private Behavior<TrainerCommand> onRestore(RestoreState r) {
    restoring = true;
    CompletableFuture<Long> restored = loaded.thenApplyAsync(v -> guarded(() -> {
      boolean usable = current != null && !current.broken();
      if (r.initial() && pristine && usable) {
        return 0L; // a fresh node's model is the initial state already: no second load of the weights
      }
      if (r.initial() || !usable) { // a gang broken by a failed task on one rank is loaded again
        Learner.Loaded old = current;
        current = null; // a failed load leaves no closed model in use
        if (old != null) {
          old.close();
        }
        current = learner.load(self);
        pristine = true;
      }
      if (r.initial()) {
        return 0L;
      }
      pristine = false;
      return current.restore(Path.of(r.checkpoint()));
    }), executor);
    pipe(restored, (v, error) -> new Restored(r, v == null ? -1 : v, error));
    return this;
  }

  private Behavior<TrainerCommand> onRestored(Restored done) {
    restoring = false;
    RestoreState r = done.request();
    stash.clear();
    consumed.clear();
    waiting = null;
    if (done.error() != null) {
      Throwable cause = RoleErrors.root(done.error());
      RestoreFailed.Cause why = cause instanceof CheckpointFormatException || cause instanceof UncheckedIOException
          ? RestoreFailed.Cause.CORRUPT : cause instanceof IllegalArgumentException ? RestoreFailed.Cause.FOREIGN
          : RestoreFailed.Cause.ERROR;
      RoleErrors.warn(getContext().getLog(), learner.role() + ": restoring " + (r.initial() ? "the initial state"
          : r.checkpoint()) + " failed", done.error());
      r.replyTo().tell(new RestoreFailed(r.requestId(), learner.role(), RoleErrors.oneLine(done.error()), why));
      return this;
    }
    version = done.version();
    runId = r.runId();
    getContext().getLog().info("{}: restored {} (weight version {}, run {})", learner.role(),
        r.initial() ? "the initial state" : r.checkpoint(), version, runId);
    r.replyTo().tell(new StateRestored(r.requestId(), learner.role(), version, r.checkpoint()));
    return this;
  }

  private Behavior<TrainerCommand> onStatus(StatusQuery q) {
    RoleStatus.State state = !loaded.isDone() ? RoleStatus.State.STARTING
        : loaded.isCompletedExceptionally() ? RoleStatus.State.FAILED
        : training || inFlight > 0 || restoring ? RoleStatus.State.BUSY : RoleStatus.State.IDLE;
    String detail = loaded.isCompletedExceptionally() ? RoleErrors.oneLine(loaded.handle((l, e) -> e).join()) : "";
    q.replyTo().tell(new RoleStatus(learner.role(), getContext().getSelf().path().name(), state, version, device,
        inFlight + (training ? 1 : 0), detail, runId));
    return this;
  }

  private Behavior<TrainerCommand> onStop() {
    learner.abandon(learner.role() + " trainer " + getContext().getSelf().path().name() + " stopped");
    loaded.thenRunAsync(() -> {
      if (current != null) {
        current.close();
      }
    }, executor);
    executor.shutdown();
    return this;
  }
}
