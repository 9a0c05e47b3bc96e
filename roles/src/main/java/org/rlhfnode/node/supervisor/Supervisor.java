package org.rlhfnode.node.supervisor;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.messages.WireMessage;
import org.rlhfnode.node.actor.RoleErrors;
import org.rlhfnode.node.actor.RoleExecutor;
import org.rlhfnode.node.metrics.NodeMetrics;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;

/**
 * The PPO run (a cluster singleton): a state machine over the roles it finds through the Receptionist.
 * <pre>
 *   Waiting ─roles there→ Starting (RunStart: new run, --load_checkpoint, or take over the roles' run)
 *     → Restoring (RestoreRun: trainers load a checkpoint or the initial state, engines roll back)
 *     → Running (iterations; a drained checkpoint every save_steps) → Finishing (export) → done
 *   Running ─policy or critic lost→ Recovering (wait ≤ recovery_timeout_s for a replacement) → Starting
 *   Running ─TERM→ no new rollouts, finish the step in training, checkpoint, end (exit 143)
 * </pre>
 * The iterations themselves run in {@link IterationLoop}; checkpoints are {@link CheckpointRun} children.
 * A run lineage counts the restores: every child and every answer carries it, and a new lineage stops
 * the old one's children, so nothing from before a rollback is used after it.
 */
public final class Supervisor extends AbstractBehavior<Supervisor.Command> {

  /** The supervisor's mailbox. */
  public sealed interface Command permits Listed, FromStart, FromRestore, FromRun, FromCheckpoint, Trainers.Answer,
      IterationLoop.Assembled, Tick, Stop {}

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

  private record Listed(Receptionist.Listing listing) implements Command {}

  private record FromStart(RunStart.Outcome outcome) implements Command {}

  private record FromRestore(RestoreRun.Outcome outcome) implements Command {}

  private record FromRun(IterationRun.Report report) implements Command {}

  private record FromCheckpoint(CheckpointRun.Outcome outcome) implements Command {}

  private enum Tick implements Command { INSTANCE }

  private enum Phase { WAITING, STARTING, RESTORING, RUNNING, RECOVERING, FINISHING }

  private static final Duration TICK = Duration.ofSeconds(1);
  private static final long WAIT_LOG_NANOS = Duration.ofSeconds(10).toNanos();

  private final PpoSettings settings;
  private final ActorRef<Outcome> outcome;
  private final ExecutorService executor;
  private final RunCheckpoints checkpoints;
  private final RunLog log;
  private final RoleSet roles;
  private final Trainers trainers;
  private final IterationLoop loop;
  private final ActorRef<RunStart.Outcome> startReplies;
  private final ActorRef<RestoreRun.Outcome> restoreReplies;
  private final ActorRef<CheckpointRun.Outcome> checkpointReplies;
  private final List<ActorRef<Done>> stopWaiters = new ArrayList<>();
  private ActorRef<?> phaseChild;
  private ActorRef<CheckpointRun.Command> checkpointChild;
  private Phase phase = Phase.WAITING;
  private String runId = "";
  private long lineage = -1; // the first start makes it 0
  private boolean stopping;
  private long blockedSince;
  private long lastWaitLog;
  private long lostAt;
  private boolean ended;

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
    this.outcome = outcome;
    this.executor = RoleExecutor.create("supervisor");
    this.checkpoints = new RunCheckpoints(settings.resilience().ckptPath(), settings.resilience().maxCkptNum());
    this.log = new RunLog(settings.run().savePath(), settings.run().tensorBoard(), plan.iterations(), ctx.getLog(),
        NodeMetrics.get(ctx.getSystem()));
    this.roles = new RoleSet(settings);
    this.trainers = new Trainers(ctx, settings);
    this.loop = new IterationLoop(ctx, settings, plan, roles, trainers, log, executor,
        ctx.messageAdapter(IterationRun.Report.class, FromRun::new));
    this.startReplies = ctx.messageAdapter(RunStart.Outcome.class, FromStart::new);
    this.restoreReplies = ctx.messageAdapter(RestoreRun.Outcome.class, FromRestore::new);
    this.checkpointReplies = ctx.messageAdapter(CheckpointRun.Outcome.class, FromCheckpoint::new);
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
        .onMessage(FromRun.class, m -> afterLoop(loop.onReport(m.report())))
        .onMessage(IterationLoop.Assembled.class, a -> afterLoop(loop.onAssembled(a)))
        .onMessage(Trainers.TrainDone.class, t -> t.lineage() == lineage ? afterLoop(loop.onTrained(t)) : this)
        .onMessage(Trainers.SyncDone.class, this::onSynced)
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
    if (lost != null && (phase == Phase.RESTORING || phase == Phase.RUNNING || phase == Phase.FINISHING)) {
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
          startReplies));
    }
    return this;
  }

  /** A stateful role in use left: drop everything since the last checkpoint and wait for a replacement. */
  private Behavior<Command> recover(Role lost) {
    lostAt = System.nanoTime();
    getContext().getLog().warn("the {} role left the cluster; pausing the run after iteration {} and waiting up to {} s"
        + " for a node offering it (recovery_timeout_s)", lost, loop.pipeline().trained(),
        settings.resilience().recoveryTimeout().toSeconds());
    if (stopping) {
      return end("stopped by TERM while the " + lost + " role was lost; resume with --load_checkpoint", 143);
    }
    newLineage();
    phase = Phase.RECOVERING;
    return startIfReady();
  }

  /** The run cannot go on from where it is (all its roles are there): restore it from the last checkpoint. */
  private Behavior<Command> rollBack(String why) {
    getContext().getLog().warn("{}; restoring the run from its last checkpoint", why);
    newLineage();
    phase = Phase.RECOVERING;
    return startIfReady();
  }

  /** Invalidates every answer in flight and stops every child. */
  private void newLineage() {
    lineage++;
    loop.abandon(lineage);
    for (ActorRef<?> child : Arrays.asList(checkpointChild, phaseChild)) {
      if (child != null) {
        getContext().stop(child);
      }
    }
    checkpointChild = null;
    phaseChild = null;
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
    if (!roles.missing().isEmpty()) { // a role left while the start was decided: wait for it, then again
      phase = Phase.RECOVERING;
      return this;
    }
    getContext().getLog().info("{}: {}", p.how(), p.candidates().isEmpty() ? "from the initial weights"
        : "newest checkpoint " + p.candidates().get(0).dir());
    newLineage();
    phase = Phase.RESTORING;
    Map<Role, ActorRef<TrainerCommand>> use = new EnumMap<>(Role.class);
    settings.statefulRoles().forEach(r -> use.put(r, roles.trainers(r).get(0)));
    trainers.use(use);
    phaseChild = getContext().spawnAnonymous(RestoreRun.create(runId, lineage, p.candidates(), use, roles.engines(),
        settings.run().roleTimeout(), restoreReplies));
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
    if (snap != null && snap.promptCount() != loop.promptCount()) {
      return end(r.candidate().dir().resolve(RunSnapshot.PART).resolve(RunSnapshot.STATE_FILE) + ": the run had "
          + snap.promptCount() + " prompts, this one has " + loop.promptCount() + " (other --prompt_data?)", 2);
    }
    log.restore(snap == null ? null : RunSnapshot.metricsOf(r.candidate().dir()), snap == null ? 0 : snap.iteration(),
        snap == null ? 0 : snap.samplesTotal());
    loop.restoredAt(snap, r.policyVersion());
    trainers.sync(lineage, Trainers.SyncKind.RESTORE, r.policyVersion(), -1);
    return this;
  }

  // ---- running

  private Behavior<Command> afterLoop(String error) {
    return error == null ? advance() : end(error, 1);
  }

  private Behavior<Command> onSynced(Trainers.SyncDone s) {
    if (s.lineage() != lineage) {
      return this;
    }
    switch (trainers.synced(s, loop.pipeline(), stopping)) {
      case FAIL:
        return end("weight sync of version " + s.version() + " failed " + (Trainers.MAX_ATTEMPTS + 1)
            + " times; last: " + s.failure(), 1);
      case ROLL_BACK:
        return rollBack("the weight sync of version " + s.version() + " failed (" + s.failure()
            + ") after the trainer had trained past it");
      case ABANDON:
        loop.syncAbandoned(s);
        return advance();
      default:
        break;
    }
    if (s.ok()) {
      loop.onSynced(s);
      if (s.kind() == Trainers.SyncKind.RESTORE) {
        phase = Phase.RUNNING;
        getContext().getLog().info("run {} at iteration {}, weight version {}{}", runId, loop.pipeline().trained(),
            s.version(), lostAt == 0 ? "" : String.format(Locale.ROOT, " (%.1f s after the loss)",
                (System.nanoTime() - lostAt) / 1e9));
        lostAt = 0;
      }
    }
    return advance();
  }

  /** Starts whatever the run allows now, then a due checkpoint, the end, or the last export. */
  private Behavior<Command> advance() {
    if (phase != Phase.RUNNING) {
      return this;
    }
    loop.advance(!stopping);
    Pipeline p = loop.pipeline();
    if (checkpointChild != null || !p.drained() || !loop.evaluationsIdle() || !log.writtenThrough(p.trained())) {
      return this;
    }
    if (p.checkpointDue() || (stopping && p.unsaved())) {
      checkpointChild = spawnCheckpoint(null);
    } else if (stopping) {
      return end("stopped by TERM after iteration " + p.trained() + "; resume with --load_checkpoint", 143);
    } else if (p.complete()) {
      phase = Phase.FINISHING;
      checkpointChild = spawnCheckpoint(settings.run().savePath());
    }
    return this;
  }

  /** A checkpoint of the run now, or, with {@code exportDir}, the final models written there. */
  private ActorRef<CheckpointRun.Command> spawnCheckpoint(Path exportDir) {
    return getContext().spawnAnonymous(CheckpointRun.create(lineage, checkpoints, loop.snapshot(runId),
        log.metricsFile(), exportDir, trainers.refs(), settings.run().roleTimeout(), executor, checkpointReplies));
  }

  private Behavior<Command> onCheckpoint(FromCheckpoint m) {
    CheckpointRun.Outcome o = m.outcome();
    if (o instanceof CheckpointRun.Failed f) {
      return f.lineage() != lineage ? this : end((f.export() ? "saving the final models"
          : "checkpoint " + RunCheckpoints.tag(f.iteration())) + " failed: " + f.error(), 1);
    }
    CheckpointRun.Committed c = (CheckpointRun.Committed) o;
    if (c.lineage() != lineage) {
      return this;
    }
    checkpointChild = null;
    if (c.export()) {
      return end("", 0);
    }
    loop.pipeline().checkpointed(c.iteration());
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
        loop.pipeline().trained());
    if (phase != Phase.RUNNING) {
      return phase == Phase.FINISHING ? this
          : end("stopped by TERM before the run resumed; resume with --load_checkpoint", 143);
    }
    loop.stopUntrained();
    return advance();
  }

  /** While a role the run needs has no instance: say so every 10 s, give up after recovery_timeout_s. */
  private Behavior<Command> onTick() {
    trainers.tick();
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
    if (now - blockedSince > limit.toNanos()) {
      return end("no node offering the " + missing + " role(s) joined within recovery_timeout_s (" + limit.toSeconds()
          + " s)" + (checkpoints.complete().isEmpty() ? ""
              : "; resume the run from " + checkpoints.root() + " with --load_checkpoint"), 1);
    }
    if (now - lastWaitLog >= WAIT_LOG_NANOS) {
      lastWaitLog = now;
      getContext().getLog().warn("waiting for a node offering the {} role(s): {} s of recovery_timeout_s {}", missing,
          (now - blockedSince) / 1_000_000_000L, limit.toSeconds());
    }
    return this;
  }

  private Behavior<Command> end(String error, int exitCode) {
    if (exitCode == 0) {
      getContext().getLog().info("run {} finished: {} iterations", runId, loop.pipeline().trained());
    } else if (exitCode == 143) {
      getContext().getLog().warn("{}", error);
    } else {
      getContext().getLog().error("run stopped: {}", error);
    }
    try {
      log.finish();
    } catch (RuntimeException e) {
      getContext().getLog().warn("cannot write the run's report: {}", RoleErrors.oneLine(e));
    }
    tellOutcome(error, exitCode);
    return Behaviors.stopped();
  }

  /** Tells the node how the run ended, once; the node exits with the code. */
  private void tellOutcome(String error, int exitCode) {
    if (!ended) {
      ended = true;
      outcome.tell(new Outcome(loop.pipeline().trained(), loop.pipeline().syncedVersion(), error, exitCode));
      stopWaiters.forEach(w -> w.tell(Done.getInstance()));
    }
  }

  /** A supervisor that failed (an exception) still ends its node, with exit code 1, instead of leaving it idle. */
  private Behavior<Command> onPostStop() {
    tellOutcome("the supervisor stopped unexpectedly (its error is logged above)", 1);
    executor.shutdown();
    log.close();
    return this;
  }
}
