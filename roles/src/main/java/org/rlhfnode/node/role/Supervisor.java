package org.rlhfnode.node.role;

import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.RolloutRejected;
import org.rlhfnode.messages.RolloutRequest;
import org.rlhfnode.messages.RolloutReply;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.rlhfnode.messages.CheckpointFailed;
import org.rlhfnode.messages.CheckpointReply;
import org.rlhfnode.messages.CheckpointRequest;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.SamplingParams;
import org.rlhfnode.messages.ScoreFailed;
import org.rlhfnode.messages.ScoreReply;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.SyncWeights;
import org.rlhfnode.messages.TrainStep;
import org.rlhfnode.messages.TrainStepDone;
import org.rlhfnode.messages.WeightsSynced;
import org.rlhfnode.messages.WireMessage;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.ExperienceMaker;
import org.rlhfnode.runtime.algo.ppo.KlController;

/**
 * The PPO loop (a cluster singleton): finds the roles through the Receptionist and drives iterations —
 * prompts → rollout (n samples per prompt, split over the rollout engines) → lp_old, lp_ref, scores and
 * values from the policy, reference, reward and critic roles → advantages → policy and critic updates
 * → a new weight version on the rollout engines. Backpressure: an iteration's rollout starts only when
 * fewer than {@code max_staleness + 1} iterations are generated but not yet trained, and only from weights
 * at most {@code max_staleness} versions behind the version it will be trained at, so 0 is synchronous
 * on-policy PPO and 1 overlaps the next rollout with training. Every batch is trained exactly once.
 * Requests to stateless roles (rollout, reference, reward) that fail, time out or lose their actor are
 * sent again to an instance that is still there; a lost policy trainer or critic ends the run with an error.
 * Bookkeeping lives in {@link Iteration}, requests in {@link RoleDirectory}, metrics in {@link RunLog}.
 */
public final class Supervisor extends AbstractBehavior<Supervisor.Command> {

  /** The supervisor's mailbox: role answers (through adapters) and its own ticks. */
  public sealed interface Command
      permits Listed, RolloutAnswer, ScoreAnswer, TrainAnswer, SyncAnswer, CheckpointAnswer, Assembled, Tick {}

  /** How the run ended: {@code error} is empty on success. */
  public record Outcome(int iterations, long policyVersion, String error) implements WireMessage {
    /** Whether every iteration ran. */
    public boolean ok() {
      return error.isEmpty();
    }
  }

  record Listed(Receptionist.Listing listing) implements Command {}

  record RolloutAnswer(RolloutReply reply) implements Command {}

  record ScoreAnswer(ScoreReply reply) implements Command {}

  record TrainAnswer(TrainStepDone done) implements Command {}

  record SyncAnswer(WeightsSynced synced) implements Command {}

  record CheckpointAnswer(CheckpointReply reply) implements Command {}

  private record Assembled(int iteration, Experience experience, double observedKl, Throwable error)
      implements Command {}

  private enum Tick implements Command { INSTANCE }

  private static final Duration TICK = Duration.ofSeconds(1);

  private final PpoSettings settings;
  private final RunPlan plan;
  private final ActorRef<Outcome> outcome;
  private final RoleDirectory roles;
  private final RunLog log;
  private final Evaluation evaluation;
  private final KlController klController;
  private final ExecutorService executor;
  private final java.util.TreeMap<Integer, Iteration> inFlight = new java.util.TreeMap<>();
  private final ActorRef<RolloutReply> rolloutReplies;
  private final ActorRef<ScoreReply> scoreReplies;
  private final ActorRef<TrainStepDone> trainReplies;
  private final ActorRef<WeightsSynced> syncReplies;
  private final ActorRef<CheckpointReply> checkpointReplies;
  private int nextIteration;
  private int trained;
  private long trainerVersion;
  private long syncedVersion;
  private boolean training;
  private boolean finishing;
  private int checkpointsPending;
  private int syncFailures;

  /**
   * @param outcome told once, when the run ends
   */
  public static Behavior<Command> create(PpoSettings settings, RunPlan plan, ActorRef<Outcome> outcome) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Supervisor(ctx, timers, settings, plan,
        outcome)));
  }

  private Supervisor(ActorContext<Command> ctx, TimerScheduler<Command> timers, PpoSettings settings, RunPlan plan,
      ActorRef<Outcome> outcome) {
    super(ctx);
    this.settings = settings;
    this.plan = plan;
    this.outcome = outcome;
    this.klController = settings.klController();
    this.executor = RoleExecutor.create("supervisor");
    this.roles = new RoleDirectory(settings.roleTimeout(), () -> syncedVersion);
    this.log = new RunLog(settings.savePath(), plan.iterations(), ctx.getLog());
    this.rolloutReplies = ctx.messageAdapter(RolloutReply.class, RolloutAnswer::new);
    this.scoreReplies = ctx.messageAdapter(ScoreReply.class, ScoreAnswer::new);
    this.trainReplies = ctx.messageAdapter(TrainStepDone.class, TrainAnswer::new);
    this.syncReplies = ctx.messageAdapter(WeightsSynced.class, SyncAnswer::new);
    this.checkpointReplies = ctx.messageAdapter(CheckpointReply.class, CheckpointAnswer::new);
    this.evaluation = new Evaluation(plan.evalPrompts(), settings, roles, rolloutReplies, scoreReplies);
    ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, Listed::new);
    RoleDirectory.KEYS.forEach(k -> ctx.getSystem().receptionist().tell(Receptionist.subscribe(k, listings)));
    timers.startTimerWithFixedDelay(Tick.INSTANCE, TICK);
    ctx.getLog().info("PPO run: {} iterations of {} prompts × {} samples, max_staleness {}", plan.iterations(),
        plan.promptsPerIteration(), settings.experience().samplesPerPrompt(), settings.maxStaleness());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Listed.class, this::onListed)
        .onMessage(RolloutAnswer.class, this::onRollout)
        .onMessage(ScoreAnswer.class, this::onScore)
        .onMessage(Assembled.class, this::onAssembled)
        .onMessage(TrainAnswer.class, this::onTrained)
        .onMessage(SyncAnswer.class, this::onSynced)
        .onMessage(CheckpointAnswer.class, this::onCheckpoint)
        .onMessage(Tick.class, t -> onTick())
        .onSignal(PostStop.class, s -> onStop())
        .build();
  }

  private Behavior<Command> onListed(Listed l) {
    String lost = roles.update(l.listing());
    if (lost != null) {
      return abort(lost);
    }
    return advance();
  }

  private Behavior<Command> onTick() {
    String error = roles.retryOverdue();
    return error != null ? abort(error) : advance();
  }

  /** Starts whatever the pipeline allows now. */
  private Behavior<Command> advance() {
    if (!roles.ready(settings)) {
      return this;
    }
    if (!evaluation.initialDone()) {
      evaluation.startIfIdle(syncedVersion);
      return this;
    }
    while (canStartRollout()) {
      startRollout(nextIteration++);
    }
    Iteration next = inFlight.get(trained);
    if (!training && next != null && next.phase == Iteration.Phase.READY) {
      startTraining(next);
    }
    return this;
  }

  private boolean canStartRollout() {
    int k = settings.maxStaleness();
    return !finishing && nextIteration < plan.iterations() && nextIteration - trained <= k
        && syncedVersion >= nextIteration - k;
  }

  private void startRollout(int index) {
    int engines = Math.max(1, Math.min(roles.count(RoleDirectory.ROLLOUT), plan.promptsPerIteration()));
    Iteration it = new Iteration(index, plan.promptsFor(index), engines);
    inFlight.put(index, it);
    it.start("generate", System.nanoTime());
    for (int c = 0; c < engines; c++) {
      sendChunk(it, c);
    }
  }

  private void sendChunk(Iteration it, int c) {
    List<List<Integer>> prompts = RolloutAssembly.promptLists(it.chunkPrompts(c));
    int n = settings.experience().samplesPerPrompt();
    // sample k of prompt i gets seed base + (i·n + k) whatever the chunking, so engines can be swapped
    long seed = settings.seed() * 1_000_003L + (long) it.index * 65_537L + (long) it.chunkStarts[c] * n;
    SamplingParams sampling = new SamplingParams(settings.experience().temperature(), settings.experience().topP(),
        settings.experience().topK(), settings.experience().generateMaxLen(), n, seed);
    String id = "it" + it.index + "-gen-" + c;
    roles.sendRollout(id, version -> new RolloutRequest(id, prompts, sampling, version, rolloutReplies));
  }

  private Behavior<Command> onRollout(RolloutAnswer a) {
    RolloutReply reply = a.reply();
    if (evaluation.owns(reply.requestId())) {
      return evaluation.onRollout(reply, syncedVersion) ? afterEvaluation() : this;
    }
    if (!roles.isPending(reply.requestId())) {
      return this; // a late duplicate of an answered request
    }
    if (reply instanceof RolloutRejected r) {
      String err = roles.retry(r.requestId(), r.reason(), r.installedVersion() >= 0);
      return err != null ? abort(err) : this;
    }
    roles.complete(reply.requestId());
    GeneratedSequences g = (GeneratedSequences) reply;
    String[] parts = g.requestId().split("-");
    Iteration it = inFlight.get(Integer.parseInt(parts[0].substring(2)));
    int c = Integer.parseInt(parts[2]);
    it.chunks.set(c, g);
    it.generatedWith = Math.min(it.generatedWith, g.policyVersion());
    if (it.allChunksIn()) {
      it.end("generate", System.nanoTime());
      startScoring(it);
    }
    return this;
  }

  private void startScoring(Iteration it) {
    it.phase = Iteration.Phase.SCORING;
    it.rows = RolloutAssembly.rows(it.prompts, it.chunks, settings.experience().samplesPerPrompt());
    it.start("score", System.nanoTime());
    var tensors = WireArrays.rows(it.rows);
    List<String> scorers = new ArrayList<>(List.of(RoleDirectory.POLICY, RoleDirectory.REWARD));
    if (needsReference()) {
      scorers.add(RoleDirectory.REFERENCE);
    }
    if (settings.needsCritic()) {
      scorers.add(RoleDirectory.CRITIC);
    }
    for (String scorer : scorers) {
      String id = "it" + it.index + "-" + scorer;
      it.pendingScores.add(scorer);
      roles.sendScore(scorer, id, new ScoreRequest(id, it.generatedWith, tensors, scoreReplies));
    }
  }

  private boolean needsReference() {
    return settings.needsReference() && (settings.experience().klAsLoss() || klController.value() > 0);
  }

  private Behavior<Command> onScore(ScoreAnswer a) {
    ScoreReply reply = a.reply();
    if (evaluation.owns(reply.requestId())) {
      return evaluation.onScore(reply) ? afterEvaluation() : this;
    }
    if (!roles.isPending(reply.requestId())) {
      return this;
    }
    if (reply instanceof ScoreFailed f) {
      String err = roles.retry(f.requestId(), f.scorer() + ": " + f.reason(), true);
      return err != null ? abort(err) : this;
    }
    roles.complete(reply.requestId());
    ScoredExperience s = (ScoredExperience) reply;
    String id = s.requestId();
    Iteration it = inFlight.get(Integer.parseInt(id.substring(2, id.indexOf('-'))));
    String scorer = id.substring(id.indexOf('-') + 1);
    it.scores.put(scorer, s.tensors());
    it.pendingScores.remove(scorer);
    if (it.pendingScores.isEmpty()) {
      it.end("score", System.nanoTime());
      assemble(it);
    }
    return this;
  }

  private void assemble(Iteration it) {
    it.phase = Iteration.Phase.ASSEMBLING;
    it.klCoef = klController.value();
    KlController beta = KlController.fixed(it.klCoef); // the controller moves on while this runs
    CompletableFuture<Experience> e =
        CompletableFuture.supplyAsync(() -> it.assemble(settings.experience(), beta), executor);
    CompletableFuture<double[]> kl = e.thenApplyAsync(x -> new double[] {
        ExperienceMaker.observedKl(settings.experience().klEstimator(), x)}, executor);
    getContext().pipeToSelf(kl, (k, error) -> new Assembled(it.index, error == null ? e.join() : null,
        error == null ? k[0] : Double.NaN, error));
  }

  private Behavior<Command> onAssembled(Assembled a) {
    if (a.error() != null) {
      return abort("iteration " + (a.iteration() + 1) + ": advantages failed: " + RoleErrors.oneLine(a.error()));
    }
    Iteration it = inFlight.get(a.iteration());
    it.experience = a.experience();
    it.observedKl = a.observedKl();
    it.phase = Iteration.Phase.READY;
    return advance();
  }

  private void startTraining(Iteration it) {
    training = true;
    it.phase = Iteration.Phase.TRAINING;
    it.trainedAtVersion = trainerVersion;
    it.start("train", System.nanoTime());
    String batchId = "it" + it.index;
    ExperienceBatch batch = new ExperienceBatch(batchId, it.index, it.generatedWith,
        WireArrays.experience(it.experience));
    List<String> trainers = settings.needsCritic() ? List.of(RoleDirectory.POLICY, RoleDirectory.CRITIC)
        : List.of(RoleDirectory.POLICY);
    for (String role : trainers) {
      it.pendingTrain.add(role);
      roles.sendTrain(role, "it" + it.index + "-train-" + role, batch,
          new TrainStep("it" + it.index + "-train-" + role, it.index, trainerVersion, List.of(batchId),
              trainReplies));
    }
  }

  private Behavior<Command> onTrained(TrainAnswer a) {
    TrainStepDone done = a.done();
    if (!roles.complete(done.stepId())) {
      return this;
    }
    if (!done.ok()) {
      return abort("iteration " + (done.iteration() + 1) + ": " + done.stepId() + " failed: " + done.error());
    }
    Iteration it = inFlight.get((int) done.iteration());
    String role = done.stepId().substring(done.stepId().lastIndexOf('-') + 1);
    it.pendingTrain.remove(role);
    done.metrics().forEach((k, v) -> {
      if (!Double.isNaN(v)) {
        it.trainMetrics.put(k, v);
      }
    });
    if (role.equals(RoleDirectory.POLICY)) {
      trainerVersion = done.policyVersion();
    }
    if (it.pendingTrain.isEmpty()) {
      it.end("train", System.nanoTime());
      log.countSamples(it.experience.batchSize());
      klController.update(it.observedKl, it.experience.batchSize());
      trained++;
      training = false;
      startSync(it);
    }
    return advance();
  }

  private void startSync(Iteration it) {
    it.phase = Iteration.Phase.SYNCING;
    it.start("sync", System.nanoTime());
    roles.sendSync("sync-" + trainerVersion, new SyncWeights(trainerVersion, syncReplies));
  }

  private Behavior<Command> onSynced(SyncAnswer a) {
    WeightsSynced s = a.synced();
    if (!roles.complete("sync-" + s.version())) {
      return this;
    }
    Iteration it = inFlight.values().stream().filter(x -> x.phase == Iteration.Phase.SYNCING).findFirst()
        .orElseThrow();
    if (!s.ok()) {
      if (++syncFailures > RoleDirectory.MAX_ATTEMPTS) {
        return abort("weight sync of version " + s.version() + " failed: " + s.error());
      }
      getContext().getLog().warn("weight sync of version {} failed ({}), retrying", s.version(), s.error());
      startSync(it);
      return this;
    }
    syncFailures = 0;
    syncedVersion = s.version();
    it.end("sync", System.nanoTime());
    it.syncBytes = s.totalBytes();
    it.phase = Iteration.Phase.DONE;
    inFlight.remove(it.index);
    boolean last = it.index + 1 == plan.iterations();
    boolean evalDue = last || (settings.evalSteps() > 0 && (it.index + 1) % settings.evalSteps() == 0);
    log.iterationDone(it, syncedVersion, evalDue && evaluation.enabled());
    if (evalDue) {
      evaluation.request(it.index + 1);
    }
    if (settings.saveSteps() > 0 && (it.index + 1) % settings.saveSteps() == 0 && !last) {
      checkpoint(settings.savePath().resolve("checkpoints").resolve("iter_" + (it.index + 1)), it.index);
    }
    if (last) {
      finishing = true;
      checkpoint(settings.savePath(), it.index);
    }
    evaluation.startIfIdle(syncedVersion);
    Behavior<Command> next = finishIfDone();
    return next == this ? advance() : next;
  }

  private void checkpoint(Path dir, int index) {
    List<String> trainers = settings.needsCritic() ? List.of(RoleDirectory.POLICY, RoleDirectory.CRITIC)
        : List.of(RoleDirectory.POLICY);
    for (String role : trainers) {
      checkpointsPending++;
      String id = "ckpt-" + (index + 1) + "-" + role;
      roles.sendCheckpoint(role, id, new CheckpointRequest(id, index, syncedVersion, dir.toString(),
          checkpointReplies));
    }
  }

  private Behavior<Command> onCheckpoint(CheckpointAnswer a) {
    CheckpointReply r = a.reply();
    if (!roles.complete(r.checkpointId())) {
      return this;
    }
    checkpointsPending--;
    if (r instanceof CheckpointFailed f) {
      return abort("checkpoint " + f.checkpointId() + " (" + f.role() + ") failed: " + f.reason());
    }
    getContext().getLog().info("saved {}", r);
    return finishIfDone();
  }

  private Behavior<Command> afterEvaluation() {
    evaluation.drainResults(log::evaluated);
    evaluation.startIfIdle(syncedVersion);
    Behavior<Command> next = finishIfDone();
    return next == this ? advance() : next;
  }

  private Behavior<Command> finishIfDone() {
    if (finishing && checkpointsPending == 0 && evaluation.allDone()) {
      log.finish();
      outcome.tell(new Outcome(trained, syncedVersion, ""));
      return Behaviors.stopped();
    }
    return this;
  }

  private Behavior<Command> abort(String error) {
    getContext().getLog().error("run stopped: {}", error);
    log.finish();
    outcome.tell(new Outcome(trained, syncedVersion, error));
    return Behaviors.stopped();
  }

  private Behavior<Command> onStop() {
    executor.shutdown();
    log.close();
    return this;
  }
}
