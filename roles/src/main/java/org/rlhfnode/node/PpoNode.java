package org.rlhfnode.node;

import org.rlhfnode.messages.RolloutCommand;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
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
import org.rlhfnode.node.cli.ModelOptions;
import org.rlhfnode.node.cli.train.TrainSettings;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.node.role.Learner;
import org.rlhfnode.node.role.Reference;
import org.rlhfnode.node.role.Reward;
import org.rlhfnode.node.role.RoleKeys;
import org.rlhfnode.node.role.RolloutWorker;
import org.rlhfnode.node.role.Supervisor;
import org.rlhfnode.node.role.TrainerRole;
import org.rlhfnode.node.sync.WeightSyncs;

/**
 * One node of a PPO run: an actor system in the {@code rlhf} cluster running the roles it is given —
 * {@code supervisor} (the loop, as a cluster singleton), {@code trainer} (the policy), {@code critic},
 * {@code rollout}, {@code reward}, {@code reference} — or {@code all} of them in one JVM. Every node
 * reads the same settings. The supervisor's node ends the run: when the loop finishes it asks every
 * member to leave, and each node's process exits when its actor system has terminated.
 */
public final class PpoNode {
  /** The role names a node accepts ({@code all} stands for every one). */
  public static final List<String> ROLES = NodeConfig.ALL_ROLES;
  private static final Duration LEAVE_GRACE = Duration.ofSeconds(30);

  private PpoNode() {}

  /**
   * Runs the node until the run (supervisor) or the cluster (other roles) ends.
   *
   * @return the process exit code: 0, or 1 when the run stopped with an error
   */
  public static int run(List<String> roles, NodeAddress self, List<NodeAddress> seeds, TrainSettings ts) {
    List<String> mine = parseRoles(roles);
    PpoSettings settings = PpoSettings.from(ts);
    ModelOptions.configureThreads(settings.threads());
    torch.manual_seed(settings.seed());
    boolean supervisor = mine.contains(NodeConfig.SUPERVISOR_ROLE);
    RunPlan plan = supervisor ? RunPlan.load(settings) : null; // bad prompt data fails here, before joining
    if (supervisor) {
      writeSettings(settings, ts);
    }
    CompletableFuture<Supervisor.Outcome> outcome = new CompletableFuture<>();
    // the process exits from Main with the run's code, not from Pekko's shutdown with 0
    Config config = ConfigFactory.parseString("pekko.coordinated-shutdown.exit-jvm = off")
        .withFallback(NodeConfig.forNode(self, seeds, mine, ts.otherSections()));
    AtomicBoolean askedToLeave = new AtomicBoolean();
    ActorSystem<Void> system = ActorSystem.create(guardian(mine, settings, plan, outcome, askedToLeave),
        NodeConfig.SYSTEM_NAME, config);
    NodeConfig.joinSeeds(system, seeds);
    if (!supervisor) {
      system.getWhenTerminated().toCompletableFuture().join();
      return leftGracefully(system, askedToLeave.get()) ? 0 : 1;
    }
    Supervisor.Outcome result = outcome.join();
    if (!result.ok()) {
      System.err.println("error: " + result.error());
    }
    leaveCluster(system);
    return result.ok() ? 0 : 1;
  }

  static List<String> parseRoles(List<String> roles) {
    List<String> out = new ArrayList<>();
    for (String r : roles) {
      String role = r.trim();
      if (role.equals("all")) {
        ROLES.forEach(x -> {
          if (!out.contains(x)) {
            out.add(x);
          }
        });
      } else if (role.equals("policy")) {
        out.add("trainer");
      } else if (ROLES.contains(role)) {
        if (!out.contains(role)) {
          out.add(role);
        }
      } else {
        throw new IllegalArgumentException("--role '" + role + "': expected all or a comma list of " + ROLES);
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("--role needs a value: all or a comma list of " + ROLES);
    }
    return out;
  }

  private static void writeSettings(PpoSettings s, TrainSettings ts) {
    try {
      Files.createDirectories(s.savePath());
      Files.writeString(s.savePath().resolve("ppo_config.conf"), ts.render());
    } catch (IOException e) {
      throw new UncheckedIOException(s.savePath() + ": cannot write the run settings: " + e.getMessage(), e);
    }
  }

  private static Behavior<Void> guardian(List<String> roles, PpoSettings s, RunPlan plan,
      CompletableFuture<Supervisor.Outcome> outcome, AtomicBoolean askedToLeave) {
    return Behaviors.setup(ctx -> {
      ctx.spawn(leaveWatcher(askedToLeave), "leave-watcher");
      for (String role : roles) {
        spawn(ctx, role, s, plan, outcome);
      }
      return Behaviors.empty();
    });
  }

  private static void spawn(ActorContext<Void> ctx, String role, PpoSettings s, RunPlan plan,
      CompletableFuture<Supervisor.Outcome> outcome) {
    switch (role) {
      case "supervisor" -> {
        ActorRef<Supervisor.Outcome> done = ctx.spawn(Behaviors.receive(Supervisor.Outcome.class)
            .onMessage(Supervisor.Outcome.class, o -> {
              outcome.complete(o);
              return Behaviors.stopped();
            }).build(), "run-outcome");
        ClusterSingleton.get(ctx.getSystem()).init(SingletonActor.of(Supervisor.create(s, plan, done), "supervisor")
            .withSettings(ClusterSingletonSettings.create(ctx.getSystem()).withRole(NodeConfig.SUPERVISOR_ROLE)));
      }
      case "trainer" -> register(ctx, RoleKeys.POLICY, ctx.spawn(TrainerRole.create(Learner.policy(s),
          s.maxStaleness(), WeightSyncs.create(ctx, s.weightSyncSettings(ctx.getSystem().settings().config()))),
          "policy"));
      case "critic" -> register(ctx, RoleKeys.CRITIC,
          ctx.spawn(TrainerRole.create(Learner.critic(s), s.maxStaleness(), null), "critic"));
      case "reward" -> register(ctx, RoleKeys.REWARD, ctx.spawn(Reward.create(s), "reward"));
      case "reference" -> {
        if (s.needsReference()) {
          register(ctx, RoleKeys.REFERENCE, ctx.spawn(Reference.create(s), "reference"));
        }
      }
      case "rollout" -> {
        ActorRef<RolloutCommand> rollout = ctx.spawn(RolloutWorker.create(
            new RolloutWorker.Settings(s.devices().rollout(), s.dtype()),
            s.weightSyncSettings(ctx.getSystem().settings().config())), "rollout");
        rollout.tell(new RolloutWorker.InstallWeights(0, s.pretrain(), ctx.getSystem().ignoreRef()));
        register(ctx, RoleKeys.ROLLOUT, rollout);
      }
      default -> throw new IllegalArgumentException("unknown role " + role);
    }
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
