package org.rlhfnode.node.supervisor;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RoleKeys;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.StatusQuery;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.messages.WireMessage;
import org.rlhfnode.node.actor.RoleErrors;
import org.rlhfnode.node.actor.RoleExecutor;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.ExperienceMaker;
import org.rlhfnode.runtime.algo.ppo.KlController;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;

/**
 * The PPO run (a cluster singleton): a state machine over the roles it finds through the Receptionist.
 * <pre>
 *   Waiting ─roles there→ Starting (RunStart: new run, --load_checkpoint, or take over the roles' run)
 *     → Restoring (RestoreRun: trainers load a checkpoint or the initial state, engines roll back)
 *     → Running (iterations; a drained checkpoint every save_steps) → Finishing (export) → done
 *   Running ─policy or critic lost→ Recovering (wait ≤ recovery_timeout_s for a replacement) → Starting
 *   Running ─TERM→ stop starting work, finish the step in training, checkpoint, end (exit 143)
 * </pre>
 * Each iteration's rollout and scoring is an {@link IterationRun} child; the supervisor assembles the
 * experience (with β as it stands after the previous iteration), trains the policy and critic, syncs the
 * new weights to every engine and logs the row ({@link RunLog}); {@link Pipeline} decides what may start.
 * A run lineage counts the restores; answers of an older lineage are ignored. An engine that joined and
 * holds older weights is synced before it gets work ({@link Trainers#catchUp}).
 */
public final class Supervisor extends AbstractBehavior<Supervisor.Command> {

  /** The supervisor's mailbox. */
  public sealed interface Command permits Listed, FromStart, FromRestore, FromRun, FromCheckpoint, Trainers.Answer,
      Assembled, Tick, Stop {}

  /**
   * How the run ended: {@code error} is empty on success; {@code exitCode} is the node's: 0, 1 (run error),
   * 2 (bad input: refused checkpoints, other settings) or 143 (stopped by TERM after a checkpoint).
   */
  public record Outcome(int iterations, long policyVersion, String error, int exitCode) implements WireMessage {
    /** Whether every iteration ran. */
    public boolean ok() {
      return error.isEmpty();
    }
  }

  /** Stop the run at the next iteration boundary, checkpoint it, end, then tell {@code replyTo} (a TERM). */
  public record Stop(ActorRef<Done> replyTo) implements Command, WireMessage {}

  record Listed(Receptionist.Listing listing) implements Command {}

  record FromStart(RunStart.Outcome outcome) implements Command {}

  record FromRestore(RestoreRun.Outcome outcome) implements Command {}

  record FromRun(IterationRun.Report report) implements Command {}

  record FromCheckpoint(CheckpointRun.Outcome outcome) implements Command {}

  private record Assembled(long lineage, int index, Experience experience, double observedKl, double beta,
      Throwable error) implements Command {}

  private enum Tick implements Command { INSTANCE }

  private enum Phase { WAITING, STARTING, RESTORING, RUNNING, RECOVERING, FINISHING }

  private static final Duration TICK = Duration.ofSeconds(1);
  private static final long WAIT_LOG_NANOS = Duration.ofSeconds(10).toNanos();

  private final PpoSettings settings;
  private final RunPlan plan;
  private final ActorRef<Outcome> outcome;
  private final ExecutorService executor;
  private final RunCheckpoints checkpoints;
  private final RunLog log;
  private final Pipeline pipeline;
  private final RoleSet roles;
  private final Trainers trainers;
  private final Evaluations evaluations;
  private final Adapters adapters;
  private final List<ActorRef<Done>> stopWaiters = new ArrayList<>();
  private final Map<Integer, ActorRef<IterationRun.Command>> children = new java.util.HashMap<>();
  private ActorRef<?> phaseChild;
  private ActorRef<CheckpointRun.Command> checkpointChild;
  private Phase phase = Phase.WAITING;
  private KlController kl;
  private String runId = "";
  private long lineage = -1; // the first start makes it 0
  private boolean stopping;
  private long blockedSince;
  private long lastWaitLog;
  private long lostAt;

  /** The actors the children answer to, made once. */
  private record Adapters(ActorRef<RunStart.Outcome> start, ActorRef<RestoreRun.Outcome> restore,
      ActorRef<IterationRun.Report> run, ActorRef<CheckpointRun.Outcome> checkpoint) {}

  /**
   * @param outcome told once, when the run ends
   */
  public static Behavior<Command> create(PpoSettings settings, RunPlan plan, ActorRef<Outcome> outcome) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, TICK);
      return new Supervisor(ctx, settings, plan, outcome);
    }));
  }

  private Supervisor(ActorContext<Command> ctx, PpoSettings settings, RunPlan plan, ActorRef<Outcome> outcome) {
    super(ctx);
    this.settings = settings;
    this.plan = plan;
    this.outcome = outcome;
    this.executor = RoleExecutor.create("supervisor");
    this.checkpoints = new RunCheckpoints(settings.resilience().ckptPath(), settings.resilience().maxCkptNum());
    this.log = new RunLog(settings.run().savePath(), plan.iterations(), ctx.getLog());
    this.pipeline = new Pipeline(plan.iterations(), settings.run().maxStaleness(), settings.run().saveSteps());
    this.roles = new RoleSet(settings);
    this.trainers = new Trainers(ctx, settings);
    this.evaluations = new Evaluations(plan.evalPrompts(), settings);
    this.kl = settings.klController();
    this.adapters = new Adapters(ctx.messageAdapter(RunStart.Outcome.class, FromStart::new),
        ctx.messageAdapter(RestoreRun.Outcome.class, FromRestore::new),
        ctx.messageAdapter(IterationRun.Report.class, FromRun::new),
        ctx.messageAdapter(CheckpointRun.Outcome.class, FromCheckpoint::new));
    ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, Listed::new);
    for (Role r : Role.values()) {
      r.key().ifPresent(k -> ctx.getSystem().receptionist().tell(Receptionist.subscribe(k, listings)));
    }
    ctx.getLog().info("PPO run: {} iterations of {} prompts × {} samples, max_staleness {}, checkpoints in {}",
        plan.iterations(), plan.promptsPerIteration(), settings.experience().samplesPerPrompt(),
        settings.run().maxStaleness(), checkpoints.root());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Listed.class, this::onListed)
        .onMessage(FromStart.class, this::onStart)
        .onMessage(FromRestore.class, this::onRestore)
        .onMessage(FromRun.class, this::onRun)
        .onMessage(Assembled.class, this::onAssembled)
        .onMessage(Trainers.Answer.class, this::onTrainers)
        .onMessage(FromCheckpoint.class, this::onCheckpoint)
        .onMessage(Stop.class, this::onStopRequest)
        .onMessage(Tick.class, t -> onTick())
        .onSignal(PostStop.class, s -> onPostStop())
        .build();
  }

  // ---- roles coming and going

  private Behavior<Command> onListed(Listed l) {
    roles.update(l.listing());
    Role lost = trainers.lostIn(roles);
    if (lost != null && phase != Phase.WAITING && phase != Phase.STARTING && phase != Phase.RECOVERING) {
      return recover(lost);
    }
    return startIfReady();
  }

  private Behavior<Command> startIfReady() {
    if ((phase == Phase.WAITING || phase == Phase.RECOVERING) && roles.missing().isEmpty()) {
      if (stopping) {
        return end("stopped by TERM before the run resumed; resume with --load_checkpoint", 143);
      }
      phase = Phase.STARTING;
      phaseChild = getContext().spawnAnonymous(RunStart.create(runId, settings.resilience().loadCheckpoint(),
          roles.census(), settings.run().roleTimeout(), checkpoints, settings.resilience().fingerprint(), executor,
          adapters.start()));
    }
    return this;
  }

  /** A stateful role in use left: drop everything since the last checkpoint and wait for a replacement. */
  private Behavior<Command> recover(Role lost) {
    lostAt = System.nanoTime();
    getContext().getLog().warn("the {} role left the cluster; pausing the run after iteration {} and waiting up to {} s"
        + " for a node offering it (recovery_timeout_s)", lost, pipeline.trained(),
        settings.resilience().recoveryTimeout().toSeconds());
    if (stopping) {
      return end("stopped by TERM while the " + lost + " role was lost; resume with --load_checkpoint", 143);
    }
    newLineage();
    phase = Phase.RECOVERING;
    return startIfReady();
  }

  /** Invalidates every answer in flight and stops every child. */
  private void newLineage() {
    lineage++;
    children.values().forEach(getContext()::stop);
    children.clear();
    evaluations.clear().ifPresent(getContext()::stop);
    if (checkpointChild != null) {
      getContext().stop(checkpointChild);
      checkpointChild = null;
    }
    if (phaseChild != null) {
      getContext().stop(phaseChild);
      phaseChild = null;
    }
    trainers.clear();
  }

  // ---- starting and restoring

  private Behavior<Command> onStart(FromStart m) {
    phaseChild = null;
    if (m.outcome() instanceof RunStart.Refused r) {
      return end(r.error(), r.exitCode());
    }
    StartDecision.Plan p = ((RunStart.Ready) m.outcome()).plan();
    runId = p.runId();
    getContext().getLog().info("{}: {}", p.how(), p.candidates().isEmpty() ? "from the initial weights"
        : "newest checkpoint " + p.candidates().get(0).dir());
    newLineage();
    phase = Phase.RESTORING;
    Map<Role, ActorRef<TrainerCommand>> use = new EnumMap<>(Role.class);
    for (Role r : settings.statefulRoles()) {
      use.put(r, roles.trainers(r).get(0));
    }
    trainers.use(use);
    phaseChild = getContext().spawnAnonymous(RestoreRun.create(runId, lineage, p.candidates(), use, roles.engines(),
        settings.run().roleTimeout(), adapters.restore()));
    return this;
  }

  private Behavior<Command> onRestore(FromRestore m) {
    if (m.outcome() instanceof RestoreRun.Failed f) {
      return f.lineage() == lineage ? end(f.error(), f.exitCode()) : this;
    }
    RestoreRun.Restored r = (RestoreRun.Restored) m.outcome();
    if (r.lineage() != lineage) {
      return this;
    }
    phaseChild = null;
    RunSnapshot snap = r.candidate() == null ? null : r.candidate().snapshot();
    int done = snap == null ? 0 : snap.iteration();
    if (snap != null && snap.promptCount() != plan.prompts().size()) {
      return end(r.candidate().dir().resolve(RunSnapshot.PART).resolve(RunSnapshot.STATE_FILE) + ": the run had "
          + snap.promptCount() + " prompts, this one has " + plan.prompts().size() + " (other --prompt_data?)", 2);
    }
    pipeline.restoredAt(done, r.policyVersion());
    kl = snap == null ? settings.klController() : settings.klController(snap.klCoef());
    log.restore(snap == null ? null : RunSnapshot.metricsOf(r.candidate().dir()), done,
        snap == null ? 0 : snap.samplesTotal());
    evaluations.restart(done);
    trainers.sync(lineage, Trainers.SyncKind.RESTORE, r.policyVersion(), -1);
    return this;
  }

  // ---- the pipeline

  /** Starts whatever the pipeline allows now. */
  private Behavior<Command> advance() {
    if (phase != Phase.RUNNING) {
      return this;
    }
    while (!stopping && pipeline.canStart() && roles.count(Role.ROLLOUT) > 0) {
      startIteration(pipeline.start());
    }
    Iteration next = pipeline.toAssemble();
    if (next != null) {
      assemble(next);
    }
    Iteration ready = pipeline.toTrain();
    if (ready != null && trainers.nothingQueued()) {
      startTraining(ready);
    }
    trainers.catchUp(lineage, roles, pipeline);
    if (!stopping) {
      evaluations.next(lineage, pipeline.syncedVersion(), roles.engines()).ifPresent(p -> spawnRun(p, "eval"));
    }
    return checkpointOrFinish();
  }

  private void startIteration(int index) {
    int chunks = Math.max(1, Math.min(roles.count(Role.ROLLOUT), plan.promptsPerIteration()));
    Set<Role> scorers = new LinkedHashSet<>(List.of(Role.POLICY, Role.REWARD));
    if (settings.needsReference() && (settings.experience().klAsLoss() || kl.value() > 0)) {
      scorers.add(Role.REFERENCE);
    }
    if (settings.needsCritic()) {
      scorers.add(Role.CRITIC);
    }
    ExperienceMaker.Options e = settings.experience();
    long seed = settings.run().seed() * 1_000_003L + (long) index * 65_537L;
    IterationRun.Plan p = new IterationRun.Plan(lineage, index, false, plan.promptsFor(index), chunks,
        new org.rlhfnode.messages.SamplingParams(e.temperature(), e.topP(), e.topK(), e.generateMaxLen(),
            e.samplesPerPrompt(), seed), pipeline.syncedVersion(), scorers, roles.engines(), settings.run().roleTimeout(),
        Trainers.MAX_ATTEMPTS);
    children.put(index, spawnRun(p, "iteration"));
  }

  private ActorRef<IterationRun.Command> spawnRun(IterationRun.Plan p, String what) {
    ActorRef<IterationRun.Command> child = getContext().spawn(IterationRun.create(p, adapters.run()),
        what + "-" + lineage + "-" + p.index());
    if (p.evaluation()) {
      evaluations.started(child);
    }
    return child;
  }

  private Behavior<Command> onRun(FromRun m) {
    IterationRun.Report report = m.report();
    if (report instanceof IterationRun.EngineBehind b) {
      trainers.behind(b.engine(), b.installed(), b.wanted());
      return advance();
    }
    if (report instanceof IterationRun.Failed f) {
      if (f.lineage() != lineage) {
        return this;
      }
      if (f.evaluation()) {
        log.evaluated(evaluations.finished(), Double.NaN);
        return advance();
      }
      return end("iteration " + (f.index() + 1) + ": " + f.error(), 1);
    }
    IterationRun.Scored s = (IterationRun.Scored) report;
    if (s.lineage() != lineage) {
      return this;
    }
    if (s.evaluation()) {
      log.evaluated(evaluations.finished(), Evaluations.meanReward(s));
      return advance();
    }
    children.remove(s.index());
    pipeline.scored(new Iteration(s));
    return advance();
  }

  private void assemble(Iteration it) {
    pipeline.assembling(true);
    double beta = kl.value(); // β after the previous iteration, whatever the staleness
    long at = lineage;
    CompletableFuture<Experience> e = CompletableFuture.supplyAsync(
        () -> it.assemble(settings.experience(), beta), executor);
    CompletableFuture<double[]> observed = e.thenApplyAsync(x -> new double[] {
        ExperienceMaker.observedKl(settings.experience().klEstimator(), x)}, executor);
    getContext().pipeToSelf(observed, (k, error) -> new Assembled(at, it.index(), error == null ? e.join() : null,
        error == null ? k[0] : Double.NaN, beta, error));
  }

  private Behavior<Command> onAssembled(Assembled a) {
    if (a.lineage() != lineage) {
      return this;
    }
    pipeline.assembling(false);
    if (a.error() != null) {
      return end("iteration " + (a.index() + 1) + ": advantages failed: " + RoleErrors.oneLine(a.error()), 1);
    }
    Iteration it = pipeline.scoredAt(a.index());
    if (it != null) {
      it.assembled(a.experience(), a.observedKl(), a.beta());
    }
    return advance();
  }

  private void startTraining(Iteration it) {
    pipeline.trainingStarted();
    it.trainingStarted(pipeline.trainerVersion(), settings.statefulRoles());
    trainers.train(lineage, it, pipeline.trainerVersion());
  }

  private Behavior<Command> onTrainers(Trainers.Answer a) {
    if (a.lineage() != lineage) {
      return this;
    }
    if (a instanceof Trainers.TrainDone t) {
      return onTrained(t);
    }
    Trainers.SyncDone s = (Trainers.SyncDone) a;
    String retry = trainers.synced(s);
    if (retry != null) {
      return end(retry, 1);
    }
    if (!s.ok()) {
      return advance(); // resent or, for a catch-up, left to the next one
    }
    children.values().forEach(c -> c.tell(new IterationRun.Synced(s.version())));
    evaluations.running().ifPresent(c -> c.tell(new IterationRun.Synced(s.version())));
    switch (s.kind()) {
      case RESTORE:
        pipeline.synced(s.version(), null);
        phase = Phase.RUNNING;
        getContext().getLog().info("run {} at iteration {}, weight version {}{}", runId, pipeline.trained(),
            s.version(), lostAt == 0 ? "" : String.format(java.util.Locale.ROOT, " (%.1f s after the loss)",
                (System.nanoTime() - lostAt) / 1e9));
        lostAt = 0;
        break;
      case REGULAR:
        Iteration it = pipeline.scoredAt(s.index());
        pipeline.synced(s.version(), it);
        it.synced(s.synced().totalBytes());
        boolean last = it.index() + 1 == plan.iterations();
        log.iterationDone(it, s.version(), evaluations.due(it.index() + 1, last));
        break;
      default:
        break;
    }
    return advance();
  }

  private Behavior<Command> onTrained(Trainers.TrainDone t) {
    if (t.error() != null) {
      return end("no answer from the " + t.role() + " role to the train step of iteration " + (t.index() + 1)
          + " within role_timeout_s: " + RoleErrors.oneLine(t.error()), 1);
    }
    if (!t.done().ok()) {
      return end("iteration " + (t.index() + 1) + ": the " + t.role() + " role's train step failed: "
          + t.done().error(), 1);
    }
    if (t.role() == Role.POLICY) {
      trainers.policyTrained(t.done().policyVersion());
    }
    Iteration it = pipeline.scoredAt(t.index());
    if (!it.trained(t.role(), t.done().metrics())) {
      return this;
    }
    pipeline.trainingDone(trainers.versionAfterTraining());
    log.countSamples(it.batchSize());
    kl.update(it.observedKl(), it.batchSize());
    it.syncStarted();
    trainers.sync(lineage, Trainers.SyncKind.REGULAR, pipeline.trainerVersion(), it.index());
    return advance();
  }

  // ---- checkpoints, the end, and stopping

  private Behavior<Command> checkpointOrFinish() {
    if (checkpointChild != null || phase != Phase.RUNNING || !pipeline.drained() || !evaluations.idle()
        || !log.writtenThrough(pipeline.trained())) {
      return this;
    }
    if (pipeline.checkpointDue() || (stopping && pipeline.unsaved())) {
      RunSnapshot snap = new RunSnapshot(runId, pipeline.trained(), pipeline.trainerVersion(), kl.value(),
          log.samplesTotal(), plan.episodeOf(pipeline.trained()), plan.positionOf(pipeline.trained()),
          plan.prompts().size(), settings.resilience().fingerprint());
      checkpointChild = getContext().spawnAnonymous(CheckpointRun.create(lineage, checkpoints, snap, log.metricsFile(),
          null, trainers.refs(), settings.run().roleTimeout(), executor, adapters.checkpoint()));
      return this;
    }
    if (stopping) {
      return end("stopped by TERM after iteration " + pipeline.trained() + "; resume with --load_checkpoint", 143);
    }
    if (pipeline.complete()) {
      phase = Phase.FINISHING;
      RunSnapshot snap = new RunSnapshot(runId, pipeline.trained(), pipeline.trainerVersion(), kl.value(),
          log.samplesTotal(), 0, 0, plan.prompts().size(), Map.of());
      checkpointChild = getContext().spawnAnonymous(CheckpointRun.create(lineage, checkpoints, snap, log.metricsFile(),
          settings.run().savePath(), trainers.refs(), settings.run().roleTimeout(), executor, adapters.checkpoint()));
    }
    return this;
  }

  private Behavior<Command> onCheckpoint(FromCheckpoint m) {
    CheckpointRun.Outcome o = m.outcome();
    long at = o instanceof CheckpointRun.Committed c ? c.lineage() : ((CheckpointRun.Failed) o).lineage();
    if (at != lineage) {
      return this;
    }
    checkpointChild = null;
    if (o instanceof CheckpointRun.Failed f) {
      return end((f.export() ? "saving the final models" : "checkpoint " + RunCheckpoints.tag(f.iteration()))
          + " failed: " + f.error(), 1);
    }
    CheckpointRun.Committed c = (CheckpointRun.Committed) o;
    if (c.export()) {
      return end("", 0);
    }
    pipeline.checkpointed(c.iteration());
    getContext().getLog().info("checkpoint {} committed", c.dir());
    return stopping ? end("stopped by TERM after checkpoint " + c.dir() + "; resume with --load_checkpoint", 143)
        : advance();
  }

  private Behavior<Command> onStopRequest(Stop s) {
    stopWaiters.add(s.replyTo());
    if (stopping) {
      return this;
    }
    stopping = true;
    getContext().getLog().warn("TERM: no new iterations; checkpointing after iteration {} once its training ends",
        pipeline.trained());
    if (phase != Phase.RUNNING) {
      return phase == Phase.FINISHING ? this
          : end("stopped by TERM before the run resumed; resume with --load_checkpoint", 143);
    }
    pipeline.dropUntrained().forEach(i -> {
      ActorRef<IterationRun.Command> child = children.remove(i);
      if (child != null) {
        getContext().stop(child);
      }
    });
    evaluations.clear().ifPresent(getContext()::stop);
    log.flushWaiting();
    return advance();
  }

  private Behavior<Command> onTick() {
    List<Role> missing = roles.missing();
    if (missing.isEmpty() || phase == Phase.FINISHING) {
      blockedSince = 0;
      return this;
    }
    long now = System.nanoTime();
    if (blockedSince == 0) {
      blockedSince = now;
      lastWaitLog = now;
    }
    Duration limit = settings.resilience().recoveryTimeout();
    long waited = (now - blockedSince) / 1_000_000_000L;
    if (now - blockedSince > limit.toNanos()) {
      return end("no node offering the " + missing + " role(s) joined within recovery_timeout_s (" + limit.toSeconds()
          + " s)" + (checkpoints.complete().isEmpty() ? ""
              : "; resume the run from " + checkpoints.root() + " with --load_checkpoint"), 1);
    }
    if (now - lastWaitLog >= WAIT_LOG_NANOS) {
      lastWaitLog = now;
      getContext().getLog().warn("waiting for a node offering the {} role(s): {} s of recovery_timeout_s {}", missing,
          waited, limit.toSeconds());
    }
    return this;
  }

  private Behavior<Command> end(String error, int exitCode) {
    if (exitCode == 0) {
      getContext().getLog().info("run {} finished: {} iterations", runId, pipeline.trained());
    } else if (exitCode == 143) {
      getContext().getLog().warn("{}", error);
    } else {
      getContext().getLog().error("run stopped: {}", error);
    }
    log.finish();
    outcome.tell(new Outcome(pipeline.trained(), pipeline.syncedVersion(), error, exitCode));
    stopWaiters.forEach(w -> w.tell(Done.getInstance()));
    return Behaviors.stopped();
  }

  private Behavior<Command> onPostStop() {
    executor.shutdown();
    log.close();
    return this;
  }
}
