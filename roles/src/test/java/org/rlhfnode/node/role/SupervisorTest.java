package org.rlhfnode.node.role;

import org.rlhfnode.messages.RolloutRejected;
import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.RolloutRequest;
import org.rlhfnode.messages.RolloutCommand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.messages.CheckpointRequest;
import org.rlhfnode.messages.CheckpointSaved;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.ScorerCommand;
import org.rlhfnode.messages.SyncWeights;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.messages.TrainStep;
import org.rlhfnode.messages.TrainStepDone;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.messages.WeightsSynced;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.metrics.MetricsFile;
import org.rlhfnode.runtime.metrics.MetricsRow;

/**
 * The supervisor's loop against scripted roles (no models): every batch is trained exactly once and
 * every iteration logged; with max_staleness k at most k + 1 iterations are generated ahead of training;
 * a rollout refused for its weight version is asked again.
 */
class SupervisorTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  /** One actor system per test: the Receptionist must not list another test's scripted roles. */
  private ActorTestKit kit;

  @BeforeEach
  void startKit() {
    kit = ActorTestKit.create("SupervisorTest-" + runs.incrementAndGet(),
        ConfigFactory.parseString("pekko.actor.provider = local"));
  }

  @AfterEach
  void stopKit() {
    kit.shutdownTestKit();
  }

  @TempDir
  Path tmp;

  private final AtomicInteger runs = new AtomicInteger();

  /** Scripted roles of one run, all registered with the Receptionist; the probes see what they receive. */
  private final class Roles {
    final TestProbe<RolloutRequest> generates = kit.createTestProbe();
    final TestProbe<ExperienceBatch> batches = kit.createTestProbe();
    final TestProbe<TrainStep> steps = kit.createTestProbe();
    final AtomicLong installed = new AtomicLong();
    final AtomicLong trainerVersion = new AtomicLong();
    final AtomicBoolean holdSteps = new AtomicBoolean();
    final AtomicInteger rejectFirst = new AtomicInteger();

    final ActorRef<RolloutCommand> rolloutRef;
    final ActorRef<TrainerCommand> policyRef;

    Roles(int run) {
      rolloutRef = kit.spawn(rollout(), "rollout-" + run);
      policyRef = kit.spawn(policy(), "policy-" + run);
      register(RoleKeys.ROLLOUT, rolloutRef);
      register(RoleKeys.POLICY, policyRef);
      register(RoleKeys.REWARD, kit.spawn(reward(), "reward-" + run));
    }

    private <T> void register(org.apache.pekko.actor.typed.receptionist.ServiceKey<T> key, ActorRef<T> ref) {
      kit.system().receptionist().tell(Receptionist.register(key, ref));
    }

    Behavior<RolloutCommand> rollout() {
      return Behaviors.receive(RolloutCommand.class).onMessage(RolloutRequest.class, g -> {
        generates.getRef().tell(g);
        if (rejectFirst.getAndDecrement() > 0 || g.policyVersion() != installed.get()) {
          g.replyTo().tell(new RolloutRejected(g.requestId(), g.policyVersion(), installed.get(), "scripted"));
          return Behaviors.same();
        }
        int n = g.sampling().samplesPerPrompt();
        List<long[]> prompts = new ArrayList<>();
        List<long[]> responses = new ArrayList<>();
        for (int i = 0; i < g.prompts().size() * n; i++) {
          prompts.add(g.prompts().get(i / n).stream().mapToLong(Integer::longValue).toArray());
          responses.add(new long[] {5L, 6L + i % 3});
        }
        RolloutRows rows = RolloutRows.of(prompts, responses, null, new boolean[prompts.size()], 0);
        g.replyTo().tell(new GeneratedSequences(g.requestId(), g.policyVersion(), n, WireArrays.rows(rows)));
        return Behaviors.same();
      }).build();
    }

    Behavior<TrainerCommand> policy() {
      return Behaviors.receive(TrainerCommand.class)
          .onMessage(ScoreRequest.class, r -> {
            RolloutRows rows = WireArrays.rows(r.tensors());
            float[] lp = rows.actionMask();
            for (int i = 0; i < lp.length; i++) {
              lp[i] = -lp[i];
            }
            r.replyTo().tell(new ScoredExperience(r.requestId(), r.policyVersion(), "policy",
                WireArrays.perToken(TensorNames.OLD_LOG_PROBS, rows, lp)));
            return Behaviors.same();
          })
          .onMessage(ExperienceBatch.class, b -> {
            batches.getRef().tell(b);
            return Behaviors.same();
          })
          .onMessage(TrainStep.class, s -> {
            steps.getRef().tell(s);
            if (!holdSteps.get()) {
              answer(s);
            }
            return Behaviors.same();
          })
          .onMessage(SyncWeights.class, s -> {
            installed.set(s.version());
            s.replyTo().tell(new WeightsSynced(s.version(), List.of("rollout"), 100, 0.01, "scripted", ""));
            return Behaviors.same();
          })
          .onMessage(CheckpointRequest.class, c -> {
            c.replyTo().tell(new CheckpointSaved(c.checkpointId(), "policy", c.iteration(), c.policyVersion(),
                c.directory(), 1));
            return Behaviors.same();
          }).build();
    }

    void answer(TrainStep s) {
      long v = trainerVersion.incrementAndGet();
      s.replyTo().tell(new TrainStepDone(s.stepId(), s.iteration(), v, s.batchIds(),
          java.util.Map.of("policy_loss", 0.5), ""));
    }

    Behavior<ScorerCommand> reward() {
      return Behaviors.receive(ScorerCommand.class).onMessage(ScoreRequest.class, r -> {
        RolloutRows rows = WireArrays.rows(r.tensors());
        double[] scores = new double[rows.batch()];
        for (int i = 0; i < scores.length; i++) {
          scores[i] = rows.response(i)[1] == 6 ? 1.0 : 0.0;
        }
        r.replyTo().tell(new ScoredExperience(r.requestId(), r.policyVersion(), "reward",
            WireArrays.perSequence(TensorNames.SCORES, scores)));
        return Behaviors.same();
      }).build();
    }
  }

  private PpoSettings settings(Path save, int iterations, int maxStaleness) {
    return PpoTestSettings.of(save, "--advantage_estimator", "group_norm", "--init_kl_coef", "0",
        "--max_iterations", String.valueOf(iterations), "--max_staleness", String.valueOf(maxStaleness));
  }

  @Test
  void synchronousRunTrainsEveryBatchOnceAndLogsEveryIteration() {
    int run = runs.get();
    Roles roles = new Roles(run);
    Path save = tmp.resolve("sync");
    PpoSettings s = settings(save, 4, 0);
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    kit.spawn(Supervisor.create(s, RunPlan.load(s), outcome.getRef()), "supervisor-" + run);
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
    assertEquals(4, o.iterations());
    assertEquals(4, o.policyVersion());
    List<String> ids = roles.batches.receiveSeveralMessages(4, WAIT).stream().map(ExperienceBatch::batchId).toList();
    assertEquals(List.of("it0", "it1", "it2", "it3"), ids);
    roles.batches.expectNoMessage(Duration.ofMillis(200));
    List<MetricsRow> rows = MetricsFile.read(save.resolve(MetricsFile.FILE_NAME));
    assertEquals(4, rows.size());
    for (int i = 0; i < 4; i++) {
      MetricsRow r = rows.get(i);
      assertEquals(i + 1, r.get("iteration"));
      assertEquals(i + 1, r.get("policy_version"));
      assertEquals(4.0 * (i + 1), r.get("samples_total")); // 2 prompts × 2 samples, once each
      assertEquals(0, r.get("staleness"));
      assertEquals(2.0, r.get("response_length"));
      assertEquals(0.5, r.get("policy_loss"));
      assertTrue(r.get("reward_mean") >= 0 && r.get("reward_mean") <= 1);
      for (String phase : List.of("time_generate", "time_score", "time_train", "time_sync")) {
        assertTrue(r.get(phase) >= 0, phase);
      }
    }
  }

  @Test
  void maxStalenessOneGeneratesOneIterationAheadAndNoMore() {
    int run = runs.get();
    Roles roles = new Roles(run);
    roles.holdSteps.set(true);
    PpoSettings s = settings(tmp.resolve("stale1"), 4, 1);
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    kit.spawn(Supervisor.create(s, RunPlan.load(s), outcome.getRef()), "supervisor-" + run);
    List<RolloutRequest> first = roles.generates.receiveSeveralMessages(2, WAIT);
    assertEquals(List.of("it0-gen-0", "it1-gen-0"), first.stream().map(RolloutRequest::requestId).toList());
    assertEquals(0, first.get(1).policyVersion(), "iteration 1 is generated from version 0 while 0 trains");
    TrainStep step0 = roles.steps.expectMessageClass(TrainStep.class, WAIT);
    roles.generates.expectNoMessage(Duration.ofMillis(1500)); // bound: 2 iterations in flight
    roles.answer(step0); // version 1 → sync → iteration 2 may start from version 1
    RolloutRequest third = roles.generates.expectMessageClass(RolloutRequest.class, WAIT);
    assertEquals("it2-gen-0", third.requestId());
    assertEquals(1, third.policyVersion());
    TrainStep step1 = roles.steps.expectMessageClass(TrainStep.class, WAIT);
    assertEquals(List.of("it1"), step1.batchIds());
    assertEquals(1, step1.policyVersion());
    roles.holdSteps.set(false);
    roles.answer(step1);
    assertTrue(outcome.expectMessageClass(Supervisor.Outcome.class, WAIT).ok());
  }

  @Test
  void synchronousModeWaitsForTrainingBeforeTheNextRollout() {
    int run = runs.get();
    Roles roles = new Roles(run);
    roles.holdSteps.set(true);
    PpoSettings s = settings(tmp.resolve("stale0"), 2, 0);
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    kit.spawn(Supervisor.create(s, RunPlan.load(s), outcome.getRef()), "supervisor-" + run);
    roles.generates.expectMessageClass(RolloutRequest.class, WAIT);
    TrainStep step0 = roles.steps.expectMessageClass(TrainStep.class, WAIT);
    roles.generates.expectNoMessage(Duration.ofMillis(1500));
    roles.holdSteps.set(false);
    roles.answer(step0);
    assertEquals(1, roles.generates.expectMessageClass(RolloutRequest.class, WAIT).policyVersion());
    assertTrue(outcome.expectMessageClass(Supervisor.Outcome.class, WAIT).ok());
  }

  @Test
  void aRefusedRolloutIsAskedAgain() {
    int run = runs.get();
    Roles roles = new Roles(run);
    roles.rejectFirst.set(1);
    PpoSettings s = settings(tmp.resolve("retry"), 1, 0);
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    kit.spawn(Supervisor.create(s, RunPlan.load(s), outcome.getRef()), "supervisor-" + run);
    List<RolloutRequest> asked = roles.generates.receiveSeveralMessages(2, WAIT);
    assertEquals(asked.get(0).requestId(), asked.get(1).requestId());
    assertTrue(outcome.expectMessageClass(Supervisor.Outcome.class, WAIT).ok());
  }

  @Test
  void aRolloutEngineThatLeavesHasItsWorkDoneByAnother() {
    int run = runs.get();
    Roles roles = new Roles(run);
    TestProbe<RolloutRequest> silent = kit.createTestProbe();
    PpoSettings s = settings(tmp.resolve("lost-rollout"), 1, 0);
    kit.stop(roles.rolloutRef);
    ActorRef<RolloutCommand> mute = kit.spawn(Behaviors.receive(RolloutCommand.class)
        .onMessage(RolloutRequest.class, g -> {
          silent.getRef().tell(g);
          return Behaviors.same();
        }).build(), "mute-rollout");
    kit.system().receptionist().tell(Receptionist.register(RoleKeys.ROLLOUT, mute));
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    kit.spawn(Supervisor.create(s, RunPlan.load(s), outcome.getRef()), "supervisor-" + run);
    RolloutRequest first = silent.expectMessageClass(RolloutRequest.class, WAIT);
    ActorRef<RolloutCommand> healthy = kit.spawn(roles.rollout(), "healthy-rollout");
    kit.system().receptionist().tell(Receptionist.register(RoleKeys.ROLLOUT, healthy));
    kit.stop(mute); // leaves with the request unanswered
    RolloutRequest again = roles.generates.expectMessageClass(RolloutRequest.class, WAIT);
    assertEquals(first.requestId(), again.requestId());
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());
  }

  @Test
  void aPolicyTrainerThatLeavesEndsTheRunWithAnError() {
    int run = runs.get();
    Roles roles = new Roles(run);
    roles.holdSteps.set(true);
    PpoSettings s = settings(tmp.resolve("lost-policy"), 2, 0);
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    kit.spawn(Supervisor.create(s, RunPlan.load(s), outcome.getRef()), "supervisor-" + run);
    roles.steps.expectMessageClass(TrainStep.class, WAIT);
    kit.stop(roles.policyRef);
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.error().contains("the policy role left the cluster"), o.error());
    assertEquals(0, o.iterations());
  }
}
