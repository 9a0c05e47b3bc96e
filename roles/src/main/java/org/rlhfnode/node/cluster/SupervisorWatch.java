package org.rlhfnode.node.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.rlhfnode.messages.Role;

/**
 * Runs on every node without the supervisor role: watches whether a node with that role is up and
 * reachable. While there is none (the supervisor's node is still starting, or was lost and is being
 * restarted), it says so every {@link #LOG_EVERY} and, after {@code recovery_timeout_s}, gives up: the
 * node leaves with an error, exit code 1, instead of idling forever. It also answers "tell me when the
 * supervisor is gone" ({@link AwaitGone}), which a stateful node stopped with TERM uses to stay until
 * the supervisor has taken its last checkpoint.
 */
final class SupervisorWatch extends AbstractBehavior<SupervisorWatch.Command> {
  static final Duration LOG_EVERY = Duration.ofSeconds(15);

  /** The watch's mailbox. */
  sealed interface Command permits Tick, AwaitGone {}

  /** Answer {@code replyTo} once no supervisor node is up (at once if none is). */
  record AwaitGone(ActorRef<Done> replyTo) implements Command {}

  private enum Tick implements Command { INSTANCE }

  private final Cluster cluster;
  private final Duration timeout;
  private final Runnable giveUp;
  private final List<ActorRef<Done>> awaiting = new ArrayList<>();
  private long missingSince;
  private long lastLog;
  private boolean seen;

  /**
   * @param timeout how long the node may stay without a supervisor
   * @param giveUp called once when it has waited that long (prints the error and ends the node)
   */
  static Behavior<Command> create(Duration timeout, Runnable giveUp) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ofSeconds(1));
      return new SupervisorWatch(ctx, timeout, giveUp);
    }));
  }

  private SupervisorWatch(ActorContext<Command> ctx, Duration timeout, Runnable giveUp) {
    super(ctx);
    this.cluster = Cluster.get(ctx.getSystem());
    this.timeout = timeout;
    this.giveUp = giveUp;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Tick.class, t -> onTick())
        .onMessage(AwaitGone.class, this::onAwaitGone)
        .build();
  }

  private boolean supervisorUp() {
    ClusterEvent.CurrentClusterState state = cluster.state();
    for (Member m : state.getMembers()) {
      if (m.hasRole(Role.SUPERVISOR.cliName()) && m.status() == MemberStatus.up()
          && !state.getUnreachable().contains(m)) {
        return true;
      }
    }
    return false;
  }

  private Behavior<Command> onAwaitGone(AwaitGone a) {
    if (supervisorUp()) {
      awaiting.add(a.replyTo());
    } else {
      a.replyTo().tell(Done.getInstance());
    }
    return this;
  }

  private Behavior<Command> onTick() {
    long now = System.nanoTime();
    if (supervisorUp()) {
      if (missingSince != 0) {
        getContext().getLog().info("the supervisor's node is up again");
      }
      missingSince = 0;
      seen = true;
      return this;
    }
    awaiting.forEach(r -> r.tell(Done.getInstance()));
    awaiting.clear();
    if (missingSince == 0) {
      missingSince = now;
      lastLog = now;
      return this;
    }
    long waited = (now - missingSince) / 1_000_000_000L;
    if (now - missingSince > timeout.toNanos()) {
      getContext().getLog().error("no node with role supervisor for {} s (recovery_timeout_s); leaving", waited);
      giveUp.run();
      return Behaviors.stopped();
    }
    if (now - lastLog >= LOG_EVERY.toNanos()) {
      lastLog = now;
      getContext().getLog().warn("waiting for a node with role supervisor to {}: {} s of recovery_timeout_s {}",
          seen ? "come back" : "join", waited, timeout.toSeconds());
    }
    return this;
  }
}
