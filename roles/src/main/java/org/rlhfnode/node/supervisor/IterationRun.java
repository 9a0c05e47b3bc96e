package org.rlhfnode.node.supervisor;

import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RoleKeys;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.RolloutRejected;
import org.rlhfnode.messages.RolloutReply;
import org.rlhfnode.messages.RolloutRequest;
import org.rlhfnode.messages.SamplingParams;
import org.rlhfnode.messages.ScoreFailed;
import org.rlhfnode.messages.ScoreReply;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.ScorerCommand;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.algo.ppo.SampleSeeds;

/**
 * One iteration's scatter-gather, as a short-lived child of the {@link Supervisor}: the prompts split
 * into chunks over the rollout engines (seeds by {@link SampleSeeds}, whatever the chunking, so engines
 * can be swapped), then the rows scored in parallel by the roles the plan names
 * (lp_old from the policy, scores from the reward, lp_ref, V_old). It finds the roles through the
 * Receptionist itself, resends work of stateless roles on refusal, timeout or loss ({@link Resender}),
 * answers its parent once ({@link Scored} or {@link Failed}) and stops. A held-out evaluation is the same
 * with greedy sampling and the reward alone. An engine found holding older weights than asked is
 * reported ({@link EngineBehind}) so the supervisor syncs it; the chunk goes elsewhere meanwhile.
 */
final class IterationRun extends AbstractBehavior<IterationRun.Command> {

  /** The child's mailbox. */
  sealed interface Command permits Listed, RolloutAnswer, ScoreAnswer, Tick, Synced {}

  /** What the child tells its parent. */
  sealed interface Report permits Scored, Failed, EngineBehind {}

  /**
   * What to run.
   *
   * @param chunks how many rollout requests the prompts are split into (≤ prompts)
   * @param sampling sampling of every chunk; its seed is the base of the per-sample seeds
   * @param version the weight version to generate with
   * @param scorers the roles that score the rows
   * @param engines the rollout engines the parent knows of now (the child's own listing follows)
   */
  record Plan(long lineage, int index, boolean evaluation, List<long[]> prompts, int chunks, SamplingParams sampling,
      long version, Set<Role> scorers, List<ActorRef<RolloutCommand>> engines, Duration timeout, int maxAttempts) {
    Plan {
      prompts = List.copyOf(prompts);
      scorers = Set.copyOf(scorers);
      engines = List.copyOf(engines);
      if (chunks < 1 || chunks > prompts.size()) {
        throw new IllegalArgumentException("chunks must be in [1, " + prompts.size() + "], got " + chunks);
      }
    }
  }

  /** The rows and every scorer's answer; seconds spent generating and scoring. */
  record Scored(long lineage, int index, boolean evaluation, RolloutRows rows, Map<Role, TensorMap> scores,
      long generatedWith, double generateSeconds, double scoreSeconds) implements Report {}

  /** The iteration could not be completed. */
  record Failed(long lineage, int index, boolean evaluation, String error) implements Report {}

  /** {@code engine} holds version {@code installed}, older than {@code wanted}. */
  record EngineBehind(ActorRef<RolloutCommand> engine, long installed, long wanted) implements Report {}

  /** Parent → child: the rollout engines now hold {@code version}. */
  record Synced(long version) implements Command {}

  private record Listed(Receptionist.Listing listing) implements Command {}

  private record RolloutAnswer(RolloutReply reply) implements Command {}

  private record ScoreAnswer(ScoreReply reply) implements Command {}

  private enum Tick implements Command { INSTANCE }

  private static final Duration TICK = Duration.ofSeconds(1);
  /** Refusals of an engine that holds no weights before it is reported behind (one per retry delay, 1 s). */
  private static final int UNREADY_LIMIT = 5;

  private final Plan plan;
  private final ActorRef<Report> parent;
  private final int[] chunkStarts;
  private final long[] chunkVersion;
  private final GeneratedSequences[] chunks;
  private final Resender<RolloutCommand> rollouts;
  private final Map<Role, Resender<? super ScoreRequest>> scorers = new EnumMap<>(Role.class);
  private final Map<Role, TensorMap> scores = new EnumMap<>(Role.class);
  private final Map<ActorRef<RolloutCommand>, Integer> notReady = new HashMap<>();
  private final ActorRef<RolloutReply> rolloutReplies;
  private final ActorRef<ScoreReply> scoreReplies;
  private final long startNanos = System.nanoTime();
  private long scoreStartNanos;
  private long latestSynced;
  private RolloutRows rows;
  private long generatedWith = Long.MAX_VALUE;

  static Behavior<Command> create(Plan plan, ActorRef<Report> parent) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, TICK);
      return new IterationRun(ctx, plan, parent);
    }));
  }

  private IterationRun(ActorContext<Command> ctx, Plan plan, ActorRef<Report> parent) {
    super(ctx);
    this.plan = plan;
    this.parent = parent;
    this.latestSynced = plan.version();
    int c = plan.chunks();
    this.chunkStarts = new int[c + 1];
    for (int i = 0; i <= c; i++) {
      chunkStarts[i] = (int) ((long) plan.prompts().size() * i / c);
    }
    this.chunkVersion = new long[c];
    java.util.Arrays.fill(chunkVersion, plan.version());
    this.chunks = new GeneratedSequences[c];
    this.rollouts = new Resender<>(Role.ROLLOUT, RoleKeys.ROLLOUT, plan.timeout(), plan.maxAttempts());
    rollouts.knownInstances(plan.engines());
    for (Role r : plan.scorers()) {
      scorers.put(r, scorer(r));
    }
    this.rolloutReplies = ctx.messageAdapter(RolloutReply.class, RolloutAnswer::new);
    this.scoreReplies = ctx.messageAdapter(ScoreReply.class, ScoreAnswer::new);
    ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, Listed::new);
    ctx.getSystem().receptionist().tell(Receptionist.subscribe(RoleKeys.ROLLOUT, listings));
    for (Role r : plan.scorers()) {
      r.key().ifPresent(k -> ctx.getSystem().receptionist().tell(Receptionist.subscribe(k, listings)));
    }
    for (int i = 0; i < c; i++) {
      sendChunk(i);
    }
  }

  private Resender<? super ScoreRequest> scorer(Role r) {
    switch (r) {
      case POLICY:
        return new Resender<TrainerCommand>(r, RoleKeys.POLICY, plan.timeout(), plan.maxAttempts());
      case CRITIC:
        return new Resender<TrainerCommand>(r, RoleKeys.CRITIC, plan.timeout(), plan.maxAttempts());
      case REWARD:
        return new Resender<ScorerCommand>(r, RoleKeys.REWARD, plan.timeout(), plan.maxAttempts());
      case REFERENCE:
        return new Resender<ScorerCommand>(r, RoleKeys.REFERENCE, plan.timeout(), plan.maxAttempts());
      default:
        throw new IllegalArgumentException(r + " does not score rows");
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Listed.class, this::onListed)
        .onMessage(RolloutAnswer.class, this::onRollout)
        .onMessage(ScoreAnswer.class, this::onScore)
        .onMessage(Synced.class, this::onSynced)
        .onMessage(Tick.class, t -> onTick())
        .build();
  }

  private RequestId chunkId(int c) {
    return new RequestId(plan.lineage(), plan.index(),
        plan.evaluation() ? RequestId.Kind.EVAL_GENERATE : RequestId.Kind.GENERATE, c);
  }

  private RequestId scoreId() {
    return RequestId.of(plan.lineage(), plan.index(),
        plan.evaluation() ? RequestId.Kind.EVAL_SCORE : RequestId.Kind.SCORE);
  }

  private void sendChunk(int c) {
    List<List<Integer>> prompts = RolloutAssembly.promptLists(plan.prompts().subList(chunkStarts[c],
        chunkStarts[c + 1]));
    SamplingParams s = plan.sampling();
    long seed = SampleSeeds.firstOfChunk(s.seed(), chunkStarts[c], s.samplesPerPrompt());
    SamplingParams sampling = new SamplingParams(s.temperature(), s.topP(), s.topK(), s.maxNewTokens(),
        s.samplesPerPrompt(), seed);
    RequestId id = chunkId(c);
    rollouts.send(id, () -> new RolloutRequest(id, prompts, sampling, chunkVersion[c], rolloutReplies));
  }

  private Behavior<Command> onListed(Listed l) {
    rollouts.update(l.listing());
    scorers.values().forEach(s -> s.update(l.listing()));
    return this;
  }

  private Behavior<Command> onSynced(Synced s) {
    latestSynced = Math.max(latestSynced, s.version());
    return this;
  }

  private Behavior<Command> onTick() {
    String error = rollouts.tick();
    for (Resender<?> s : scorers.values()) {
      error = error != null ? error : s.tick();
    }
    return error == null ? this : fail(error);
  }

  private Behavior<Command> onRollout(RolloutAnswer a) {
    RolloutReply reply = a.reply();
    int c = reply.requestId().part();
    if (!reply.requestId().equals(chunkId(c)) || !rollouts.isPending(reply.requestId())) {
      return this; // a late duplicate of an answered request
    }
    if (reply instanceof RolloutRejected r) {
      return onRejected(c, r);
    }
    rollouts.answered(reply.requestId());
    GeneratedSequences g = (GeneratedSequences) reply;
    chunks[c] = g;
    generatedWith = Math.min(generatedWith, g.policyVersion());
    for (GeneratedSequences chunk : chunks) {
      if (chunk == null) {
        return this;
      }
    }
    return startScoring();
  }

  private Behavior<Command> onRejected(int c, RolloutRejected r) {
    long installed = r.installedVersion();
    boolean counts = installed == chunkVersion[c]; // that engine has the weights and still failed
    if (installed > chunkVersion[c] && latestSynced > chunkVersion[c]) {
      // the engines moved on (max_staleness ≥ 1): this chunk is generated from the newer weights
      getContext().getLog().debug("{}: version {} replaced by {}", r.requestId(), chunkVersion[c], latestSynced);
      chunkVersion[c] = latestSynced;
    } else if (installed < chunkVersion[c]) {
      ActorRef<RolloutCommand> engine = rollouts.targetOf(r.requestId());
      // an engine still loading (-1) is given a while; one that stays unready (it missed the weights
      // after a rollback, say) is caught up like one that is behind
      int unready = installed < 0 && engine != null ? notReady.merge(engine, 1, Integer::sum) : UNREADY_LIMIT;
      if (engine != null && unready >= UNREADY_LIMIT) {
        notReady.remove(engine);
        parent.tell(new EngineBehind(engine, installed, chunkVersion[c]));
      }
    }
    String error = rollouts.refused(r.requestId(), r.reason(), counts);
    return error == null ? this : fail(error);
  }

  private Behavior<Command> startScoring() {
    scoreStartNanos = System.nanoTime();
    try {
      rows = RolloutAssembly.rows(plan.prompts(), List.of(chunks), plan.sampling().samplesPerPrompt());
    } catch (IllegalStateException e) {
      return fail(e.getMessage());
    }
    TensorMap tensors = WireArrays.rows(rows);
    long version = generatedWith;
    RequestId id = scoreId();
    ScoreRequest request = new ScoreRequest(id, version, tensors, scoreReplies);
    scorers.values().forEach(s -> s.send(id, () -> request));
    return this;
  }

  private Behavior<Command> onScore(ScoreAnswer a) {
    ScoreReply reply = a.reply();
    Resender<?> from = scorers.get(reply.scorer());
    if (from == null || !from.isPending(reply.requestId())) {
      return this;
    }
    if (reply instanceof ScoreFailed f) {
      String error = from.refused(f.requestId(), f.reason(), true);
      return error == null ? this : fail(error);
    }
    from.answered(reply.requestId());
    scores.put(reply.scorer(), ((ScoredExperience) reply).tensors());
    if (scores.size() < scorers.size()) {
      return this;
    }
    long now = System.nanoTime();
    parent.tell(new Scored(plan.lineage(), plan.index(), plan.evaluation(), rows, Map.copyOf(scores), generatedWith,
        (scoreStartNanos - startNanos) / 1e9, (now - scoreStartNanos) / 1e9));
    return Behaviors.stopped();
  }

  private Behavior<Command> fail(String error) {
    parent.tell(new Failed(plan.lineage(), plan.index(), plan.evaluation(), Objects.requireNonNull(error)));
    return Behaviors.stopped();
  }

}
