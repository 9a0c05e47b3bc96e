package org.rlhfnode.node.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.Leave;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.apache.pekko.cluster.typed.Subscribe;
import org.bytedeco.pytorch.global.torch;
import org.rlhfnode.messages.RankCommand;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RoleKeys;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.node.metrics.NodeMetrics;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.node.role.Learner;
import org.rlhfnode.node.role.Reference;
import org.rlhfnode.node.role.Reward;
import org.rlhfnode.node.role.RolloutWorker;
import org.rlhfnode.node.role.TrainerGroup;
import org.rlhfnode.node.role.TrainerRole;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.node.supervisor.Supervisor;
import org.rlhfnode.node.sync.WeightSync;
import org.rlhfnode.node.sync.WeightSyncs;
import org.rlhfnode.runtime.tensor.CpuThreads;

/**
 * One node of a PPO run: an actor system in the {@code rlhf} cluster running the roles it is given
 * ({@link Role}: the supervisor as a cluster singleton, trainer, critic, rollout, reward, reference) or
 * {@code all} of them in one JVM. Every node reads the same settings and checks its own model paths
 * before it joins. The supervisor's node ends the run: when the loop finishes it asks every member to
 * leave, and each node's process exits when its actor system has terminated. A node without the
 * supervisor waits at most {@code recovery_timeout_s} for one ({@link SupervisorWatch}). On TERM the
 * supervisor's node checkpoints before it exits, and a node with a stateful role stays until then. With
 * {@code --metrics_port} the node serves its live state for Prometheus on its host ({@link NodeMetrics}).
 */
public final class PpoNode {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PpoNode.class);
  private static final Duration LEAVE_GRACE = Duration.ofSeconds(30);
  private static final Duration STOP_MARGIN = Duration.ofSeconds(10);

  private PpoNode() {}

  /**
   * Runs the node until the run (supervisor) or the cluster (other roles) ends.
   *
   * @return the process exit code: 0; 1 when the run stopped with an error or the node lost its
   *     supervisor; 2 for bad input found after joining (refused checkpoints); 143 stopped by TERM
   */
  public static int run(List<String> roles, NodeAddress self, List<NodeAddress> seeds, TrainSettings ts) {
    return run(roles, self, seeds, ts, false, null);
  }

  /** As {@link #run(List, NodeAddress, List, TrainSettings)}, with the node's {@code --secure} and {@code --keys}. */
  public static int run(List<String> roles, NodeAddress self, List<NodeAddress> seeds, TrainSettings ts,
      boolean secure, java.nio.file.Path keys) {
    List<Role> mine = parseRoles(roles);
    PpoSettings settings = PpoSettings.from(ts);
    Integer metricsPort = NodeMetrics.port(ts.optString("ppo.metrics_port"));
    NodeChecks.check(mine, settings);
    CpuThreads.configure(settings.models().threads());
    torch.manual_seed(settings.run().seed());
    boolean supervisor = mine.contains(Role.SUPERVISOR);
    RunPlan plan = supervisor ? RunPlan.load(settings) : null; // bad prompt data fails here, before joining
    if (supervisor) {
      writeSettings(settings, ts);
    }
    CompletableFuture<Supervisor.Outcome> outcome = new CompletableFuture<>();
    // the process exits from Main with the run's code, not from Pekko's shutdown with 0; a TERM waits for
    // the last checkpoint (stop_timeout_s) before the node unbinds
    long stopSeconds = settings.resilience().stopTimeout().plus(STOP_MARGIN).toSeconds();
    Config config = ConfigFactory.parseString("pekko.coordinated-shutdown.exit-jvm = off\n"
            + "pekko.coordinated-shutdown.phases.before-service-unbind.timeout = " + stopSeconds + "s")
        .withFallback(NodeConfig.forNode(self, seeds, mine.stream().map(Role::cliName).toList(), ts.otherSections(),
            secure, keys));
    if (NodeConfig.secure(config)) {
      LOG.info("cluster transport: mutual TLS with the run's keys ({})", config.getString(NodeConfig.KEYS_PATH));
    } else if (!self.host().equals(NodeAddress.DEFAULT_HOST) && !self.host().equals("localhost")) {
      LOG.warn("cluster transport: plain TCP on {}: any process that reaches port {} can join this run; "
          + "use --secure --keys DIR (rlhf-node keys --output DIR)", self.host(), self.port());
    } else {
      LOG.info("cluster transport: plain TCP on {} (no --secure)", self.host());
    }
    AtomicBoolean askedToLeave = new AtomicBoolean();
    AtomicReference<String> gaveUp = new AtomicReference<>();
    ActorSystem<Void> system = ActorSystem.create(guardian(mine, settings, plan, outcome, askedToLeave, gaveUp),
        NodeConfig.SYSTEM_NAME, config);
    serveMetrics(system, mine, self.host(), metricsPort);
    NodeConfig.joinSeeds(system, seeds);
    if (!supervisor) {
      system.getWhenTerminated().toCompletableFuture().join();
      if (gaveUp.get() != null) {
        System.err.println("error: " + gaveUp.get());
        return 1;
      }
      return leftGracefully(system, askedToLeave.get()) ? 0 : 1;
    }
    Supervisor.Outcome result = outcome.join();
    if (result.exitCode() == 143) {
      System.err.println(result.error());
    } else if (!result.ok()) {
      System.err.println("error: " + result.error());
    }
    leaveCluster(system);
    return result.exitCode();
  }

  /** Publishes the node's roles; with {@code port} (--metrics_port) serves them for Prometheus on {@code host}. */
  private static void serveMetrics(ActorSystem<Void> system, List<Role> roles, String host, Integer port) {
    NodeMetrics metrics = NodeMetrics.get(system);
    metrics.roles(roles);
    if (port != null) {
      try {
        metrics.serve(system, host, port);
      } catch (RuntimeException e) {
        system.terminate();
        throw e;
      }
    }
  }

  static List<Role> parseRoles(List<String> roles) {
    List<Role> out = new ArrayList<>();
    for (String r : roles) {
      List<Role> named = r.trim().equals("all") ? Role.all() : List.of(Role.fromCliName(r));
      named.stream().filter(x -> !out.contains(x)).forEach(out::add);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("--role needs a value: all or a comma list of "
          + Role.all().stream().map(Role::cliName).toList());
    }
    return out;
  }

  private static void writeSettings(PpoSettings s, TrainSettings ts) {
    try {
      org.rlhfnode.runtime.io.OwnerOnly.createDirectories(s.run().savePath());
      Files.writeString(s.run().savePath().resolve("ppo_config.conf"), ts.render());
    } catch (IOException e) {
      throw new UncheckedIOException(s.run().savePath() + ": cannot write the run settings: " + e.getMessage(), e);
    }
  }

  private static Behavior<Void> guardian(List<Role> roles, PpoSettings s, RunPlan plan,
      CompletableFuture<Supervisor.Outcome> outcome, AtomicBoolean askedToLeave, AtomicReference<String> gaveUp) {
    return Behaviors.setup(ctx -> {
      ctx.spawn(leaveWatcher(askedToLeave), "leave-watcher");
      for (Role role : roles) {
        spawn(ctx, role, s, plan, outcome);
      }
      if (!roles.contains(Role.SUPERVISOR)) {
        ActorRef<SupervisorWatch.Command> watch = ctx.spawn(SupervisorWatch.create(s.resilience().recoveryTimeout(),
            () -> {
              gaveUp.set("no node with role supervisor for recovery_timeout_s ("
                  + s.resilience().recoveryTimeout().toSeconds() + " s): the supervisor's node was lost and not "
                  + "restarted");
              ctx.getSystem().terminate();
            }), "supervisor-watch");
        if (roles.stream().anyMatch(Role::stateful)) {
          onTerm(ctx.getSystem(), "wait-for-last-checkpoint", () -> AskPattern.ask(watch, SupervisorWatch.AwaitGone::new,
              s.resilience().stopTimeout(), ctx.getSystem().scheduler()));
        }
      }
      return Behaviors.empty();
    });
  }

  private static void spawn(ActorContext<Void> ctx, Role role, PpoSettings s, RunPlan plan,
      CompletableFuture<Supervisor.Outcome> outcome) {
    switch (role) {
      case SUPERVISOR -> {
        ActorRef<Supervisor.Outcome> done = ctx.spawn(Behaviors.receive(Supervisor.Outcome.class)
            .onMessage(Supervisor.Outcome.class, o -> {
              outcome.complete(o);
              return Behaviors.stopped();
            }).build(), "run-outcome");
        ActorRef<Supervisor.Command> proxy = ClusterSingleton.get(ctx.getSystem()).init(
            SingletonActor.of(Supervisor.create(s, plan, done), "supervisor").withSettings(
                ClusterSingletonSettings.create(ctx.getSystem()).withRole(Role.SUPERVISOR.cliName())));
        onTerm(ctx.getSystem(), "checkpoint-before-exit", () -> AskPattern.ask(proxy, Supervisor.Stop::new,
            s.resilience().stopTimeout(), ctx.getSystem().scheduler()));
      }
      case POLICY -> {
        WeightSync sync = WeightSyncs.create(ctx, s.weightSyncSettings(ctx.getSystem().settings().config()));
        trainer(ctx, Learner.policy(s), RoleKeys.POLICY, RoleKeys.POLICY_RANKS,
            l -> TrainerRole.create(l, s.run().maxStaleness(), sync));
      }
      case CRITIC -> trainer(ctx, Learner.critic(s), RoleKeys.CRITIC, RoleKeys.CRITIC_RANKS,
          l -> TrainerRole.create(l, s.run().maxStaleness(), null));
      case REWARD -> register(ctx, RoleKeys.REWARD, ctx.spawn(Reward.create(s), "reward"));
      case REFERENCE -> {
        if (s.needsReference()) {
          register(ctx, RoleKeys.REFERENCE, ctx.spawn(Reference.create(s), "reference"));
        }
      }
      case ROLLOUT -> {
        ActorRef<RolloutCommand> rollout = ctx.spawn(RolloutWorker.create(
            new RolloutWorker.Settings(s.devices().rollout(), s.models().dtype(), s.scale().rolloutTensorParallel(),
                s.models().lora()),
            s.weightSyncSettings(ctx.getSystem().settings().config())), "rollout");
        rollout.tell(new RolloutWorker.InstallWeights(0, s.models().pretrain(), ctx.getSystem().ignoreRef()));
        register(ctx, RoleKeys.ROLLOUT, rollout);
      }
      default -> throw new IllegalArgumentException("unknown role " + role);
    }
  }

  /**
   * The node's trainer of a role: on one node the {@link TrainerRole} itself; over several nodes a
   * {@link TrainerGroup}, which starts the trainer on the lead node once all of them are there.
   */
  private static void trainer(ActorContext<Void> ctx, Learner learner, ServiceKey<TrainerCommand> key,
      ServiceKey<RankCommand> rankKey, Function<Learner, Behavior<TrainerCommand>> behavior) {
    String name = learner.role().label();
    if (learner.nodeCount() == 1) {
      register(ctx, key, ctx.spawn(behavior.apply(learner), name));
    } else {
      ctx.spawn(TrainerGroup.create(learner, rankKey, key, behavior), name + "-group");
    }
  }

  /**
   * Runs {@code task} when the JVM is asked to exit (TERM, Ctrl-C), before the node stops serving, and
   * waits for it (at most the phase's timeout); a node ended by the run itself skips it.
   */
  private static void onTerm(ActorSystem<?> system, String name, java.util.function.Supplier<CompletionStage<?>> task) {
    CoordinatedShutdown cs = CoordinatedShutdown.get(system);
    cs.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), name, () -> {
      boolean term = cs.getShutdownReason().filter(r -> r instanceof CoordinatedShutdown.JvmExitReason$).isPresent();
      return term ? task.get().handle((ok, error) -> Done.getInstance())
          : CompletableFuture.completedFuture(Done.getInstance());
    });
  }

  private static <T> void register(ActorContext<Void> ctx, ServiceKey<T> key, ActorRef<T> ref) {
    ctx.getSystem().receptionist().tell(Receptionist.register(key, ref));
  }

  /** Sets {@code asked} when this node starts leaving the cluster (the supervisor's end-of-run request). */
  private static Behavior<ClusterEvent.MemberLeft> leaveWatcher(AtomicBoolean asked) {
    return Behaviors.setup(ctx -> {
      Cluster cluster = Cluster.get(ctx.getSystem());
      cluster.subscriptions().tell(Subscribe.create(ctx.getSelf(), ClusterEvent.MemberLeft.class));
      return Behaviors.receive(ClusterEvent.MemberLeft.class).onMessage(ClusterEvent.MemberLeft.class, e -> {
        if (e.member().address().equals(cluster.selfMember().address())) {
          asked.set(true);
        }
        return Behaviors.same();
      }).build();
    });
  }

  /**
   * Whether the node ended because the run asked it to leave: it left, or it was downed while leaving
   * (a member that died meanwhile keeps the leave from completing, and the split-brain resolver downs
   * the leaving nodes instead).
   */
  private static boolean leftGracefully(ActorSystem<Void> system, boolean askedToLeave) {
    Optional<CoordinatedShutdown.Reason> reason = CoordinatedShutdown.get(system).getShutdownReason();
    boolean left = askedToLeave
        || reason.isPresent() && reason.get().equals(CoordinatedShutdown.clusterLeavingReason());
    if (!left) {
      System.err.println("error: this node left the cluster without being asked ("
          + reason.map(Object::toString).orElse("no reason") + "); the supervisor's node is gone or unreachable");
    }
    return left;
  }

  /** Asks every reachable member (this one last) to leave, and waits a while for this system to end. */
  private static void leaveCluster(ActorSystem<Void> system) {
    Cluster cluster = Cluster.get(system);
    for (Member m : cluster.state().getMembers()) {
      if (!m.address().equals(cluster.selfMember().address()) && !cluster.state().getUnreachable().contains(m)) {
        cluster.manager().tell(Leave.create(m.address()));
      }
    }
    cluster.manager().tell(Leave.create(cluster.selfMember().address()));
    try {
      system.getWhenTerminated().toCompletableFuture().get(LEAVE_GRACE.toSeconds(), TimeUnit.SECONDS);
    } catch (TimeoutException | ExecutionException e) {
      system.terminate();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      system.terminate();
    }
  }
}
