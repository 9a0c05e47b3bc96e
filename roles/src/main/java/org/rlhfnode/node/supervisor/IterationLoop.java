package org.rlhfnode.node.supervisor;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.SamplingParams;
import org.rlhfnode.node.actor.RoleErrors;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.runtime.algo.ppo.DynamicFilter;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.ExperienceMaker;
import org.rlhfnode.runtime.algo.ppo.KlController;
import org.rlhfnode.runtime.algo.ppo.SampleSeeds;

/**
 * The iterations of a running run, on the {@link Supervisor}'s behalf: it starts each iteration's
 * {@link IterationRun} child when the {@link Pipeline} allows, assembles the experience of the next
 * iteration to train with β as it stands after the previous one (the same whatever the staleness),
 * trains the policy and critic, syncs the new weights, logs the row, and runs the held-out evaluations.
 * Answers of an older run lineage are ignored. Errors come back as one line for the supervisor to end
 * the run with. Used on the supervisor's thread only; {@link Assembled} is the supervisor's message.
 */
final class IterationLoop {

  /** The experience of iteration {@code index} is assembled (or failed to be). */
  record Assembled(long lineage, int index, Experience experience, double observedKl, double beta, Throwable error)
      implements Supervisor.Command {}

  private final ActorContext<Supervisor.Command> ctx;
  private final PpoSettings settings;
  private final RunPlan plan;
  private final Pipeline pipeline;
  private final RoleSet roles;
  private final Trainers trainers;
  private final Evaluations evaluations;
  private final RunLog log;
  private final ExecutorService executor;
  private final ActorRef<IterationRun.Report> reports;
  private final Map<Integer, ActorRef<IterationRun.Command>> children = new HashMap<>();
  private KlController kl;
  private long lineage;
  private boolean stopping;

  IterationLoop(ActorContext<Supervisor.Command> ctx, PpoSettings settings, RunPlan plan, RoleSet roles,
      Trainers trainers, RunLog log, ExecutorService executor, ActorRef<IterationRun.Report> reports) {
    this.ctx = ctx;
    this.settings = settings;
    this.plan = plan;
    this.pipeline = new Pipeline(plan.iterations(), settings.run().maxStaleness(), settings.run().saveSteps());
    this.roles = roles;
    this.trainers = trainers;
    this.evaluations = new Evaluations(plan.evalSet(), settings);
    this.log = log;
    this.executor = executor;
    this.reports = reports;
    this.kl = settings.klController();
  }

  Pipeline pipeline() {
    return pipeline;
  }

  /** How many prompts the run's prompt set has (a checkpoint's data cursor must agree). */
  int promptCount() {
    return plan.prompts().size();
  }

  /** Whether no evaluation is due or running. */
  boolean evaluationsIdle() {
    return evaluations.idle();
  }

  /** Stops every child and forgets their work: a new lineage begins. */
  void abandon(long newLineage) {
    lineage = newLineage;
    children.values().forEach(ctx::stop);
    children.clear();
    evaluations.clear().ifPresent(ctx::stop);
  }

  /** The run continues after {@code snap} (null: from the initial state) with weights {@code version}. */
  void restoredAt(RunSnapshot snap, long version) {
    int done = snap == null ? 0 : snap.iteration();
    pipeline.restoredAt(done, version);
    kl = snap == null ? settings.klController() : settings.klController(snap.klCoef());
    stopping = false;
    if (evaluations.restart(done)) {
      log.expectStartEvaluation();
    }
  }

  /** Starts whatever may start now: rollouts ({@code starting}: none when the run stops), assembly, training. */
  void advance(boolean starting) {
    while (starting && pipeline.canStart() && roles.count(Role.ROLLOUT) > 0) {
      int index = pipeline.start();
      children.put(index, spawn(iterationPlan(index), "iteration"));
    }
    Iteration next = pipeline.toAssemble();
    if (next != null) {
      assemble(next);
    }
    Iteration ready = pipeline.toTrain();
    if (ready != null && trainers.nothingQueued()) {
      pipeline.trainingStarted();
      ready.trainingStarted(pipeline.trainerVersion(), settings.statefulRoles());
      trainers.train(lineage, ready, pipeline.trainerVersion());
    }
    trainers.catchUp(lineage, roles, pipeline);
    if (starting) {
      evaluations.next(lineage, pipeline.syncedVersion(), roles.engines()).ifPresent(p -> spawn(p, "eval"));
    }
    log.pipeline(pipeline);
  }

  private IterationRun.Plan iterationPlan(int index) {
    Set<Role> scorers = new LinkedHashSet<>(List.of(Role.POLICY, Role.REWARD));
    if (settings.needsReference() && (settings.experience().klAsLoss() || kl.value() > 0)) {
      scorers.add(Role.REFERENCE);
    }
    if (settings.needsCritic()) {
      scorers.add(Role.CRITIC);
    }
    ExperienceMaker.Options e = settings.experience();
    long seed = SampleSeeds.base(settings.run().seed(), index);
    RunPlan.PromptSet batch = plan.batchFor(index);
    DynamicFilter filter = settings.prompts().dynamicFilter();
    IterationRun.Refill refill = filter == null ? null
        : new IterationRun.Refill(filter, plan.replacementCount(), (from, n) -> plan.replacementsFor(index, from, n));
    return new IterationRun.Plan(lineage, index, false, batch.ids(), batch.labels(),
        Math.max(1, Math.min(roles.count(Role.ROLLOUT), plan.promptsPerIteration())),
        new SamplingParams(e.temperature(), e.topP(), e.topK(), e.generateMaxLen(), e.samplesPerPrompt(), seed),
        pipeline.syncedVersion(), scorers, roles.engines(), settings.run().roleTimeout(), Trainers.MAX_ATTEMPTS,
        refill);
  }

  private ActorRef<IterationRun.Command> spawn(IterationRun.Plan p, String what) {
    ActorRef<IterationRun.Command> child = ctx.spawn(IterationRun.create(p, reports),
        what + "-" + lineage + "-" + p.index());
    if (p.evaluation()) {
      evaluations.started(child);
    }
    return child;
  }

  /** A child's report; returns an error that ends the run, or null. */
  String onReport(IterationRun.Report report) {
    if (report instanceof IterationRun.EngineBehind b) {
      trainers.behind(b.engine(), b.installed(), b.wanted());
      return null;
    }
    if (report instanceof IterationRun.Failed f) {
      if (f.lineage() != lineage) {
        return null;
      }
      if (f.evaluation()) {
        if (evaluations.isRunning(f.index())) {
          evaluations.finished();
          log.evaluated(f.index(), Double.NaN);
        }
        return null;
      }
      return "iteration " + (f.index() + 1) + ": " + f.error();
    }
    IterationRun.Scored s = (IterationRun.Scored) report;
    if (s.lineage() != lineage) {
      return null;
    }
    if (s.evaluation()) {
      if (evaluations.isRunning(s.index())) { // else a report that crossed a stop
        evaluations.finished();
        log.evaluated(s.index(), Evaluations.meanReward(s));
      }
    } else {
      children.remove(s.index());
      pipeline.scored(new Iteration(s));
    }
    return null;
  }

  private void assemble(Iteration it) {
    pipeline.assembling(true);
    double beta = kl.value(); // β after the previous iteration, whatever the staleness
    long at = lineage;
    CompletableFuture<Experience> e = CompletableFuture.supplyAsync(
        () -> it.assemble(settings.experience(), beta), executor);
    CompletableFuture<double[]> observed = e.thenApplyAsync(x -> new double[] {
        ExperienceMaker.observedKl(settings.experience().klEstimator(), x)}, executor);
    ctx.pipeToSelf(observed, (k, error) -> new Assembled(at, it.index(), error == null ? e.join() : null,
        error == null ? k[0] : Double.NaN, beta, error));
  }

  /** An assembly finished; returns an error that ends the run, or null. */
  String onAssembled(Assembled a) {
    if (a.lineage() != lineage) {
      return null;
    }
    pipeline.assembling(false);
    if (a.error() != null) {
      return "iteration " + (a.index() + 1) + ": advantages failed: " + RoleErrors.oneLine(a.error());
    }
    Iteration it = pipeline.scoredAt(a.index());
    if (it != null) {
      it.assembled(a.experience(), a.observedKl(), a.beta());
    }
    return null;
  }

  /** A trainer's step answer; returns an error that ends the run, or null. */
  String onTrained(Trainers.TrainDone t) {
    if (t.error() != null) {
      return "no answer from the " + t.role() + " role to the train step of iteration " + (t.index() + 1)
          + " within role_timeout_s: " + RoleErrors.oneLine(t.error());
    }
    if (!t.done().ok()) {
      return "iteration " + (t.index() + 1) + ": the " + t.role() + " role's train step failed: " + t.done().error();
    }
    if (t.role() == Role.POLICY) {
      trainers.policyTrained(t.done().policyVersion());
    }
    Iteration it = pipeline.scoredAt(t.index());
    if (it.trained(t.role(), t.done().metrics())) {
      pipeline.trainingDone(trainers.versionAfterTraining());
      log.countSamples(it.batchSize());
      kl.update(it.observedKl(), it.batchSize());
      if (stopping) { // the run ends after this step: the engines need no weights, they may be gone
        complete(it, pipeline.trainerVersion(), 0);
      } else {
        it.syncStarted();
        trainers.sync(lineage, Trainers.SyncKind.REGULAR, pipeline.trainerVersion(), it.index());
      }
    }
    return null;
  }

  /** A sync went through: the engines hold {@code s.version()}; a regular one completes its iteration. */
  void onSynced(Trainers.SyncDone s) {
    children.values().forEach(c -> c.tell(new IterationRun.Synced(s.version())));
    evaluations.runningChild().ifPresent(c -> c.tell(new IterationRun.Synced(s.version())));
    if (s.kind() == Trainers.SyncKind.REGULAR) {
      complete(pipeline.scoredAt(s.index()), s.version(), s.synced().totalBytes());
    } else if (s.kind() == Trainers.SyncKind.RESTORE) {
      pipeline.synced(s.version(), null);
    }
  }

  /** The run stops and the regular sync of {@code s} failed: its iteration is complete all the same. */
  void syncAbandoned(Trainers.SyncDone s) {
    if (s.kind() == Trainers.SyncKind.REGULAR) {
      complete(pipeline.scoredAt(s.index()), s.version(), 0);
    }
  }

  /** Iteration {@code it} is trained and its weights {@code version} are out: its row is logged. */
  private void complete(Iteration it, long version, long syncBytes) {
    pipeline.synced(version, it);
    it.synced(syncBytes);
    log.iterationDone(it, version, evaluations.due(it.index() + 1, it.index() + 1 == plan.iterations()));
  }

  /** The run stops: rollouts not yet training are dropped, evaluations too (their rows are written without). */
  void stopUntrained() {
    pipeline.dropUntrained().forEach(i -> {
      ActorRef<IterationRun.Command> child = children.remove(i);
      if (child != null) {
        ctx.stop(child);
      }
    });
    evaluations.stop().ifPresent(ctx::stop);
    log.flushWaiting();
    stopping = true;
  }

  /** The run's state at the boundary after the iterations trained so far. */
  RunSnapshot snapshot(String runId) {
    int done = pipeline.trained();
    return new RunSnapshot(runId, done, pipeline.trainerVersion(), kl.value(), log.samplesTotal(), plan.episodeOf(done),
        plan.positionOf(done), plan.prompts().size(), settings.resilience().fingerprint());
  }
}
