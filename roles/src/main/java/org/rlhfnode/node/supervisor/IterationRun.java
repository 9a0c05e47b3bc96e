package org.rlhfnode.node.supervisor;

import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiFunction;
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
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.DynamicFilter;
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
 * reported ({@link EngineBehind}) so the supervisor syncs it; the chunk goes elsewhere meanwhile. Each
 * row's label travels to the scorers with the rows.
 *
 * <p>With dynamic filtering ({@link Refill}) the iteration runs in rounds: each round's rows are scored by
 * the reward role alone, groups outside the range are dropped ({@link FilterRounds}) and replaced by new
 * prompts in the next round, until the batch is full or the replacements run out; then the kept rows
 * are scored by the other roles, and the reward role's answers are reused. Replacement prompt j of the
 * iteration samples with the seeds of prompt index P + j (P prompts in the batch), so a round is the
 * same whatever the chunking, like the first.
 */
final class IterationRun extends AbstractBehavior<IterationRun.Command> {

  /** The child's mailbox. */
  sealed interface Command permits Listed, RolloutAnswer, ScoreAnswer, Tick, Synced {}

  /** What the child tells its parent. */
  sealed interface Report permits Scored, Failed, EngineBehind {}

  /**
   * What to run.
   *
   * @param labels each prompt's label
   * @param chunks how many rollout requests the prompts are split into (≤ prompts)
   * @param sampling sampling of every chunk; its seed is the base of the per-sample seeds
   * @param version the weight version to generate with
   * @param scorers the roles that score the rows
   * @param engines the rollout engines the parent knows of now (the child's own listing follows)
   * @param refill dynamic filtering, or null
   */
  record Plan(long lineage, int index, boolean evaluation, List<long[]> prompts, List<String> labels, int chunks,
      SamplingParams sampling, long version, Set<Role> scorers, List<ActorRef<RolloutCommand>> engines,
      Duration timeout, int maxAttempts, Refill refill) {
    Plan {
      prompts = List.copyOf(prompts);
      labels = List.copyOf(labels);
      if (labels.size() != prompts.size()) {
        throw new IllegalArgumentException(labels.size() + " labels for " + prompts.size() + " prompts");
      }
      if (refill != null && !scorers.contains(Role.REWARD)) {
        throw new IllegalArgumentException("dynamic filtering needs the reward role among the scorers");
      }
      scorers = Set.copyOf(scorers);
      engines = List.copyOf(engines);
      if (chunks < 1 || chunks > prompts.size()) {
        throw new IllegalArgumentException("chunks must be in [1, " + prompts.size() + "], got " + chunks);
      }
    }
  }

  /**
   * Dynamic filtering of an iteration's groups.
   *
   * @param available how many replacement prompts there are
   * @param take replacement prompts [from, from + count)
   */
  record Refill(DynamicFilter filter, int available, BiFunction<Integer, Integer, RunPlan.PromptSet> take) {}

  /**
   * The rows and every scorer's answer; seconds spent generating and scoring; with dynamic filtering the
   * share of groups kept in percent (else NaN).
   */
  record Scored(long lineage, int index, boolean evaluation, RolloutRows rows, Map<Role, TensorMap> scores,
      long generatedWith, double generateSeconds, double scoreSeconds, double filterPassRate) implements Report {}

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
  private final FilterRounds rounds;
  private List<long[]> roundPrompts;
  private List<String> roundLabels;
  private int round;
  private int seedOffset; // prompt index whose seeds the round's first prompt takes
  private int chunkBase; // part of the round's first rollout request
  private int[] chunkStarts;
  private long[] chunkVersion;
  private GeneratedSequences[] chunks;
  private final Resender<RolloutCommand> rollouts;
  private final Map<Role, Resender<? super ScoreRequest>> scorers = new EnumMap<>(Role.class);
  private final Map<Role, TensorMap> scores = new EnumMap<>(Role.class);
  private final Map<ActorRef<RolloutCommand>, Integer> notReady = new HashMap<>();
  private final ActorRef<RolloutReply> rolloutReplies;
  private final ActorRef<ScoreReply> scoreReplies;
  private final long startNanos = System.nanoTime();
  private long roundStartNanos = startNanos;
  private long generateNanos;
  private long latestSynced;
  private RolloutRows rows;
  private List<String> rowLabels;
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
    this.rounds = plan.refill() == null ? null : new FilterRounds(plan.refill().filter(), plan.prompts().size(),
        plan.sampling().samplesPerPrompt(), plan.refill().available());
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
    startRound(plan.prompts(), plan.labels(), 0);
  }

  /** Generates the prompts of a round, split into chunks over the engines. */
  private void startRound(List<long[]> prompts, List<String> labels, int firstSeedIndex) {
    roundPrompts = prompts;
    roundLabels = labels;
    seedOffset = firstSeedIndex;
    chunkBase += chunks == null ? 0 : chunks.length;
    roundStartNanos = System.nanoTime();
    int c = Math.min(plan.chunks(), prompts.size());
    chunkStarts = new int[c + 1];
    for (int i = 0; i <= c; i++) {
      chunkStarts[i] = (int) ((long) prompts.size() * i / c);
    }
    chunkVersion = new long[c];
    java.util.Arrays.fill(chunkVersion, plan.version());
    chunks = new GeneratedSequences[c];
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
        plan.evaluation() ? RequestId.Kind.EVAL_GENERATE : RequestId.Kind.GENERATE, chunkBase + c);
  }

  /** The scoring of the final rows (part 0), or the reward of filtering round r (part r + 1). */
  private RequestId scoreId(int part) {
    return new RequestId(plan.lineage(), plan.index(),
        plan.evaluation() ? RequestId.Kind.EVAL_SCORE : RequestId.Kind.SCORE, part);
  }

  private void sendChunk(int c) {
    List<List<Integer>> prompts = RolloutAssembly.promptLists(roundPrompts.subList(chunkStarts[c],
        chunkStarts[c + 1]));
    SamplingParams s = plan.sampling();
    long seed = SampleSeeds.firstOfChunk(s.seed(), seedOffset + chunkStarts[c], s.samplesPerPrompt());
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
    int c = reply.requestId().part() - chunkBase;
    if (c < 0 || c >= chunks.length || !reply.requestId().equals(chunkId(c))
        || !rollouts.isPending(reply.requestId())) {
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
    generateNanos += System.nanoTime() - roundStartNanos;
    int n = plan.sampling().samplesPerPrompt();
    try {
      rows = RolloutAssembly.rows(roundPrompts, List.of(chunks), n);
    } catch (IllegalStateException e) {
      return fail(e.getMessage());
    }
    rowLabels = RolloutAssembly.rowLabels(roundLabels, n);
    if (rounds != null) { // a filtering round: the reward alone
      RequestId id = scoreId(round + 1);
      ScoreRequest request = new ScoreRequest(id, generatedWith, WireArrays.rows(rows), rowLabels, scoreReplies);
      scorers.get(Role.REWARD).send(id, () -> request);
      return this;
    }
    return scoreRows(scorers.keySet());
  }

  /** Sends the iteration's rows to {@code roles}. */
  private Behavior<Command> scoreRows(Set<Role> roles) {
    RequestId id = scoreId(0);
    ScoreRequest request = new ScoreRequest(id, generatedWith, WireArrays.rows(rows), rowLabels, scoreReplies);
    roles.forEach(r -> scorers.get(r).send(id, () -> request));
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
    TensorMap tensors = ((ScoredExperience) reply).tensors();
    if (rounds != null && reply.requestId().part() > 0) {
      return onFilterRound(tensors);
    }
    scores.put(reply.scorer(), tensors);
    if (scores.size() < scorers.size()) {
      return this;
    }
    long now = System.nanoTime();
    parent.tell(new Scored(plan.lineage(), plan.index(), plan.evaluation(), rows, Map.copyOf(scores), generatedWith,
        generateNanos / 1e9, (now - startNanos - generateNanos) / 1e9,
        rounds == null ? Double.NaN : rounds.passRate()));
    return Behaviors.stopped();
  }

  /** A filtering round's rewards: another round, or the kept rows to the other scorers. */
  private Behavior<Command> onFilterRound(TensorMap reward) {
    rounds.add(rows, rowLabels, reward);
    int more = rounds.nextRoundSize();
    if (more > 0) {
      round++;
      int from = rounds.takeReplacements(more);
      RunPlan.PromptSet next = plan.refill().take().apply(from, more);
      startRound(next.ids(), next.labels(), plan.prompts().size() + from);
      return this;
    }
    if (rounds.keptGroups() == 0) {
      DynamicFilter f = plan.refill().filter();
      return fail("dynamic filtering: none of the " + rounds.triedGroups() + " prompt groups tried had a mean "
          + "score strictly inside (" + f.low() + ", " + f.high() + "); nothing to train on");
    }
    rows = rounds.rows();
    rowLabels = rounds.labels();
    scores.put(Role.REWARD, rounds.reward());
    Set<Role> others = new java.util.LinkedHashSet<>(scorers.keySet());
    others.remove(Role.REWARD);
    return scoreRows(others);
  }

  private Behavior<Command> fail(String error) {
    parent.tell(new Failed(plan.lineage(), plan.index(), plan.evaluation(), Objects.requireNonNull(error)));
    return Behaviors.stopped();
  }

}
