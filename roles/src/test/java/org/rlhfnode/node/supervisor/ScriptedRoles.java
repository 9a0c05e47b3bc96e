package org.rlhfnode.node.supervisor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.rlhfnode.messages.CheckpointRequest;
import org.rlhfnode.messages.CheckpointSaved;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.RestoreState;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RoleKeys;
import org.rlhfnode.messages.RoleStatus;
import org.rlhfnode.messages.RollBack;
import org.rlhfnode.messages.RolledBack;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.RolloutRejected;
import org.rlhfnode.messages.RolloutRequest;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.ScorerCommand;
import org.rlhfnode.messages.StateRestored;
import org.rlhfnode.messages.StatusQuery;
import org.rlhfnode.messages.SyncWeights;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.messages.TrainStep;
import org.rlhfnode.messages.TrainStepDone;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.messages.WeightsSynced;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;

/**
 * Scripted roles (no models) for supervisor tests, registered with the Receptionist; probes see what
 * they receive. Rollout engines answer with fixed responses when asked for the weights they hold; the
 * policy trainer counts versions, installs a synced version on the engines it targets, writes real
 * (tiny) checkpoint parts and restores its version from them; the reward scores response token 6 as 1.
 */
final class ScriptedRoles {
  final ActorTestKit kit;
  final TestProbe<RolloutRequest> generates;
  final TestProbe<ExperienceBatch> batches;
  final TestProbe<TrainStep> steps;
  final TestProbe<RestoreState> restores;
  final TestProbe<SyncWeights> syncs;
  final AtomicLong trainerVersion = new AtomicLong();
  final AtomicBoolean holdSteps = new AtomicBoolean();
  final AtomicInteger rejectFirst = new AtomicInteger();
  /** Syncs of these versions fail once each; the failure is told only when the next train step comes. */
  final Set<Long> failSyncOnce = ConcurrentHashMap.newKeySet();
  private final List<SyncWeights> failingSyncs = new java.util.concurrent.CopyOnWriteArrayList<>();
  final AtomicBoolean failSyncs = new AtomicBoolean();
  /** This many syncs fail at once, then they go through. */
  final AtomicInteger failNextSyncs = new AtomicInteger();
  /** While set, the reward holds evaluation requests (they are answered by {@link #releaseEvaluations}). */
  final AtomicBoolean holdEvaluations = new AtomicBoolean();
  private final List<ScoreRequest> heldEvaluations = new java.util.concurrent.CopyOnWriteArrayList<>();
  final Map<ActorRef<RolloutCommand>, AtomicLong> installed = new ConcurrentHashMap<>();
  /** Engines a sync to every engine does not reach (they joined after it began). */
  final Set<ActorRef<RolloutCommand>> missedByBroadcasts = ConcurrentHashMap.newKeySet();
  final String tag;
  private int spawned;

  ScriptedRoles(ActorTestKit kit, String tag) {
    this.kit = kit;
    this.tag = tag;
    this.generates = kit.createTestProbe();
    this.batches = kit.createTestProbe();
    this.steps = kit.createTestProbe();
    this.restores = kit.createTestProbe();
    this.syncs = kit.createTestProbe();
  }

  /** A policy, a reward and one engine holding version 0, all registered. */
  ScriptedRoles standard() {
    rollout(0);
    policy();
    reward();
    return this;
  }

  <T> void register(ServiceKey<T> key, ActorRef<T> ref) {
    kit.system().receptionist().tell(Receptionist.register(key, ref));
  }

  ActorRef<RolloutCommand> rollout(long version) {
    AtomicLong holds = new AtomicLong(version);
    ActorRef<RolloutCommand> ref = kit.spawn(Behaviors.setup(ctx -> {
      installed.put(ctx.getSelf(), holds);
      return rolloutBehavior(holds, ctx.getSelf().path().toString());
    }), "rollout-" + tag + "-" + (spawned++));
    register(RoleKeys.ROLLOUT, ref);
    return ref;
  }

  private Behavior<RolloutCommand> rolloutBehavior(AtomicLong holds, String name) {
    return Behaviors.receive(RolloutCommand.class)
        .onMessage(RolloutRequest.class, g -> {
          generates.getRef().tell(g);
          if (rejectFirst.getAndDecrement() > 0 || g.policyVersion() != holds.get()) {
            g.replyTo().tell(new RolloutRejected(g.requestId(), g.policyVersion(), holds.get(), "scripted"));
            return Behaviors.same();
          }
          g.replyTo().tell(new GeneratedSequences(g.requestId(), g.policyVersion(), g.sampling().samplesPerPrompt(),
              WireArrays.rows(rows(g))));
          return Behaviors.same();
        })
        .onMessage(RollBack.class, r -> {
          r.replyTo().tell(new RolledBack(r.requestId(), name, r.version()));
          return Behaviors.same();
        })
        .onMessage(StatusQuery.class, q -> {
          q.replyTo().tell(new RoleStatus(Role.ROLLOUT, name, RoleStatus.State.IDLE, holds.get(), "cpu", 0, "", ""));
          return Behaviors.same();
        }).build();
  }

  private static RolloutRows rows(RolloutRequest g) {
    int n = g.sampling().samplesPerPrompt();
    List<long[]> prompts = new ArrayList<>();
    List<long[]> responses = new ArrayList<>();
    for (int i = 0; i < g.prompts().size() * n; i++) {
      prompts.add(g.prompts().get(i / n).stream().mapToLong(Integer::longValue).toArray());
      responses.add(new long[] {5L, 6L + i % 3});
    }
    return RolloutRows.of(prompts, responses, null, new boolean[prompts.size()], 0);
  }

  ActorRef<TrainerCommand> policy() {
    ActorRef<TrainerCommand> ref = kit.spawn(policyBehavior(), "policy-" + tag + "-" + (spawned++));
    register(RoleKeys.POLICY, ref);
    return ref;
  }

  private Behavior<TrainerCommand> policyBehavior() {
    return Behaviors.receive(TrainerCommand.class)
        .onMessage(ScoreRequest.class, r -> {
          RolloutRows rows = WireArrays.rows(r.tensors());
          float[] lp = rows.actionMask();
          for (int i = 0; i < lp.length; i++) {
            lp[i] = -lp[i];
          }
          r.replyTo().tell(new ScoredExperience(r.requestId(), r.policyVersion(), Role.POLICY,
              WireArrays.perToken(TensorNames.OLD_LOG_PROBS, rows, lp)));
          return Behaviors.same();
        })
        .onMessage(ExperienceBatch.class, b -> {
          batches.getRef().tell(b);
          return Behaviors.same();
        })
        .onMessage(TrainStep.class, s -> {
          failingSyncs.forEach(f -> f.replyTo().tell(WeightsSynced.failed(f.version(), "scripted", "scripted")));
          failingSyncs.clear();
          steps.getRef().tell(s);
          if (!holdSteps.get()) {
            answer(s);
          }
          return Behaviors.same();
        })
        .onMessage(SyncWeights.class, s -> {
          syncs.getRef().tell(s);
          if (failSyncOnce.remove(s.version())) {
            failingSyncs.add(s);
            return Behaviors.same();
          }
          if (failSyncs.get() || failNextSyncs.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            s.replyTo().tell(WeightsSynced.failed(s.version(), "scripted", "scripted failure"));
            return Behaviors.same();
          }
          installed.forEach((engine, v) -> {
            if (s.engines().isEmpty() ? !missedByBroadcasts.contains(engine) : s.engines().contains(engine)) {
              v.set(s.version());
            }
          });
          s.replyTo().tell(new WeightsSynced(s.version(), List.of("rollout"), 100, 0.01, "scripted", ""));
          return Behaviors.same();
        })
        .onMessage(CheckpointRequest.class, c -> {
          String sha = c.export() ? "" : RunCheckpoints.writePart(Path.of(c.directory()).resolve("policy"),
              RunCheckpoints.tag(c.iteration()), c.iteration(),
              d -> Files.writeString(d.resolve("version.txt"), String.valueOf(c.policyVersion())));
          c.replyTo().tell(new CheckpointSaved(c.checkpointId(), Role.POLICY, c.iteration(), c.policyVersion(),
              c.directory(), 1, sha));
          return Behaviors.same();
        })
        .onMessage(RestoreState.class, r -> {
          restores.getRef().tell(r);
          long v = r.initial() ? 0 : Long.parseLong(Files.readString(Path.of(r.checkpoint()).resolve("version.txt")));
          trainerVersion.set(v);
          r.replyTo().tell(new StateRestored(r.requestId(), Role.POLICY, v, r.checkpoint()));
          return Behaviors.same();
        })
        .onMessage(StatusQuery.class, q -> {
          q.replyTo().tell(new RoleStatus(Role.POLICY, "policy", RoleStatus.State.IDLE, trainerVersion.get(), "cpu", 0,
              "", ""));
          return Behaviors.same();
        }).build();
  }

  void answer(TrainStep s) {
    long v = trainerVersion.incrementAndGet();
    s.replyTo().tell(new TrainStepDone(s.stepId(), Role.POLICY, s.iteration(), v, s.batchIds(),
        Map.of("policy_loss", 0.5), ""));
  }

  private static void score(ScoreRequest r) {
    RolloutRows rows = WireArrays.rows(r.tensors());
    double[] scores = new double[rows.batch()];
    for (int i = 0; i < scores.length; i++) {
      scores[i] = rows.response(i)[1] == 6 ? 1.0 : 0.0;
    }
    r.replyTo().tell(new ScoredExperience(r.requestId(), r.policyVersion(), Role.REWARD,
        WireArrays.perSequence(TensorNames.SCORES, scores)));
  }

  /** Answers the held evaluation requests; returns how many there were. */
  int releaseEvaluations() {
    holdEvaluations.set(false);
    List<ScoreRequest> held = new ArrayList<>(heldEvaluations);
    heldEvaluations.clear();
    held.forEach(ScriptedRoles::score);
    return held.size();
  }

  ActorRef<ScorerCommand> reward() {
    ActorRef<ScorerCommand> ref = kit.spawn(Behaviors.receive(ScorerCommand.class)
        .onMessage(ScoreRequest.class, r -> {
          if (r.requestId().kind() == RequestId.Kind.EVAL_SCORE && holdEvaluations.get()) {
            heldEvaluations.add(r);
          } else {
            score(r);
          }
          return Behaviors.same();
        }).build(), "reward-" + tag + "-" + (spawned++));
    register(RoleKeys.REWARD, ref);
    return ref;
  }
}
