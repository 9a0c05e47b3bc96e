package org.rlhfnode.node.role;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
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
import org.rlhfnode.messages.RoleStatus;
import org.rlhfnode.messages.ScoreFailed;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.StatusQuery;
import org.rlhfnode.messages.SyncWeights;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TrainStep;
import org.rlhfnode.messages.TrainStepDone;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.messages.WeightsSynced;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.PpoUpdater;

/**
 * A training role — the policy trainer or the critic (see {@link Learner}). It answers scoring requests
 * with its current weights (lp_old or V_old), keeps the {@link ExperienceBatch}es it is sent, and on a
 * {@link TrainStep} trains on exactly the listed batches: each batch is consumed once (a repeated batch
 * id is ignored, a step naming a consumed batch is refused), and a batch more than
 * {@code maxStaleness} versions behind the weights is refused. The policy trainer counts weight
 * versions (one per step) and publishes them to the rollout engines on {@link SyncWeights}. All model
 * work runs in arrival order on the role's own thread.
 */
public final class TrainerRole extends AbstractBehavior<TrainerCommand> {

  private record Trained(TrainStep step, List<String> batchIds, PpoUpdater.Metrics metrics, Throwable error)
      implements TrainerCommand {}

  private record Scored(ScoreRequest request, long version, TensorMap result, Throwable error)
      implements TrainerCommand {}

  private record Saved(CheckpointRequest request, Path path, long bytes, Throwable error) implements TrainerCommand {}

  private record Published(SyncWeights request, WeightsSynced result) implements TrainerCommand {}

  private final Learner learner;
  private final int maxStaleness;
  private final String device;
  private final ExecutorService executor;
  private final CompletableFuture<Learner.Loaded> loaded;
  private final WeightSync weightSync;
  private final Map<String, ExperienceBatch> stash = new HashMap<>();
  private final Set<String> consumed = new HashSet<>();
  private TrainStep waiting;
  private boolean training;
  private long version;
  private int inFlight;

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
    this.executor = RoleExecutor.create(learner.role() + "-" + ctx.getSelf().path().name());
    this.loaded = CompletableFuture.supplyAsync(learner::load, executor);
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
        .onMessage(StatusQuery.class, this::onStatus)
        .onSignal(PostStop.class, s -> onStop())
        .build();
  }

  private Behavior<TrainerCommand> onScore(ScoreRequest r) {
    inFlight++;
    CompletableFuture<TensorMap> result =
        loaded.thenApplyAsync(l -> l.score(WireArrays.rows(r.tensors())), executor);
    long at = version;
    getContext().pipeToSelf(result, (map, error) -> new Scored(r, at, map, error));
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
      step.replyTo().tell(TrainStepDone.failed(step, version, refusal));
      return this;
    }
    if (!stash.keySet().containsAll(step.batchIds())) {
      waiting = step; // the batches are still on their way (another Artery lane)
      return this;
    }
    training = true;
    List<Experience> experiences = new ArrayList<>();
    for (String id : step.batchIds()) {
      ExperienceBatch b = stash.remove(id);
      consumed.add(id);
      experiences.add(WireArrays.experience(b.tensors(), b.policyVersion()));
    }
    CompletableFuture<PpoUpdater.Metrics> result =
        loaded.thenApplyAsync(l -> l.train(experiences, step.iteration()), executor);
    getContext().pipeToSelf(result, (m, error) -> new Trained(step, step.batchIds(), m, error));
    return this;
  }

  /** Why a step cannot run now, or null. */
  private String refusal(TrainStep step) {
    if (training || waiting != null) {
      return "a train step is already running";
    }
    if (learner.countsVersions() && step.policyVersion() != version) {
      return "version mismatch: the step expects weights " + step.policyVersion() + ", the trainer holds " + version;
    }
    for (String id : step.batchIds()) {
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
      step.replyTo().tell(TrainStepDone.failed(step, version, RoleErrors.oneLine(done.error())));
      return this;
    }
    if (learner.countsVersions()) {
      version++;
    }
    step.replyTo().tell(new TrainStepDone(step.stepId(), step.iteration(), version, done.batchIds(),
        Learner.metrics(done.metrics()), ""));
    return this;
  }

  private Behavior<TrainerCommand> onSync(SyncWeights sync) {
    if (weightSync == null) {
      sync.replyTo().tell(WeightsSynced.failed(sync.version(), "none", learner.role() + " publishes no weights"));
    } else if (sync.version() != version) {
      sync.replyTo().tell(WeightsSynced.failed(sync.version(), weightSync.transport(),
          "the trainer holds version " + version + ", not " + sync.version()));
    } else {
      CompletableFuture<WeightsSynced> result = loaded
          .thenApplyAsync(l -> l.payload(version), executor)
          .thenCompose(payload -> weightSync.publish(payload));
      getContext().pipeToSelf(result, (r, error) -> new Published(sync, error == null ? r
          : WeightsSynced.failed(sync.version(), weightSync.transport(), RoleErrors.oneLine(error))));
    }
    return this;
  }

  private Behavior<TrainerCommand> onPublished(Published p) {
    p.request().replyTo().tell(p.result());
    return this;
  }

  private Behavior<TrainerCommand> onCheckpoint(CheckpointRequest r) {
    Path dir = Path.of(r.directory()).resolve(learner.role());
    CompletableFuture<Long> bytes = loaded.thenApplyAsync(l -> l.save(dir), executor);
    getContext().pipeToSelf(bytes, (n, error) -> new Saved(r, dir, n == null ? 0 : n, error));
    return this;
  }

  private Behavior<TrainerCommand> onSaved(Saved s) {
    CheckpointRequest r = s.request();
    if (s.error() != null) {
      r.replyTo().tell(new CheckpointFailed(r.checkpointId(), learner.role(), RoleErrors.oneLine(s.error())));
    } else {
      r.replyTo().tell(new CheckpointSaved(r.checkpointId(), learner.role(), r.iteration(), version,
          s.path().toString(), s.bytes()));
    }
    return this;
  }

  private Behavior<TrainerCommand> onStatus(StatusQuery q) {
    RoleStatus.State state = !loaded.isDone() ? RoleStatus.State.STARTING
        : loaded.isCompletedExceptionally() ? RoleStatus.State.FAILED
        : training || inFlight > 0 ? RoleStatus.State.BUSY : RoleStatus.State.IDLE;
    String detail = loaded.isCompletedExceptionally() ? RoleErrors.oneLine(loaded.handle((l, e) -> e).join()) : "";
    q.replyTo().tell(new RoleStatus(learner.role(), getContext().getSelf().path().name(), state, version, device,
        inFlight + (training ? 1 : 0), detail));
    return this;
  }

  private Behavior<TrainerCommand> onStop() {
    loaded.thenAcceptAsync(Learner.Loaded::close, executor);
    executor.shutdown();
    return this;
  }
}
