package org.rlhfnode.node.sync;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.rlhfnode.messages.CollectiveRendezvous;
import org.rlhfnode.messages.WeightChunkAck;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.messages.WeightVersionInstalled;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * Moves one weight version to one receiver for the {@link WeightPublisher}, answers it once with an
 * {@link Outcome} and stops. Artery: sends the {@code WeightUpdate}, then the chunks with at most
 * {@code chunkWindow} unacknowledged; a chunk answered with a checksum or format error, or not answered
 * within {@code ackTimeout}, is sent again, at most {@code maxRetries} times. Gloo: sends the
 * {@link CollectiveRendezvous} and the update (the publisher runs the broadcast). Either way it then waits
 * for {@link WeightVersionInstalled}, which the receiver sends only once the whole version is installed.
 */
final class ReceiverTransfer extends AbstractBehavior<ReceiverTransfer.Command> {

  /** The child's protocol; all of it is internal. */
  interface Command {}

  /** The result for one receiver in publish round {@code round}: its id (from its report), or {@code failure}. */
  record Outcome(long round, ActorRef<WeightSyncMessage> receiver, String receiverId, String failure) {
    boolean ok() {
      return failure == null;
    }
  }

  private record Ack(WeightChunkAck ack) implements Command {}

  private record Installed(WeightVersionInstalled installed) implements Command {}

  private record AckTimeout(int index, int attempt) implements Command {}

  private record InstallTimeout() implements Command {}

  private static final String INSTALL_TIMER = "install";

  private final long round;
  private final ActorRef<WeightSyncMessage> receiver;
  private final long version;
  private final ActorRef<Outcome> replyTo;
  private final TimerScheduler<Command> timers;
  private final ChunkPlan plan; // null for a collective
  private final WeightSyncSettings settings;
  private final ActorRef<WeightChunkAck> acks;
  /** Chunks sent and not yet accepted: index → attempt (0 = first send). */
  private final Map<Integer, Integer> inFlight = new HashMap<>();
  private int nextToSend;
  private int accepted;

  /** Streams {@code plan} to {@code receiver} in chunks. */
  static Behavior<Command> artery(long round, ActorRef<WeightSyncMessage> receiver, ChunkPlan plan,
      WeightSyncSettings settings, ActorRef<Outcome> replyTo) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ReceiverTransfer t = new ReceiverTransfer(ctx, timers, round, receiver, plan.version(), plan, settings, replyTo);
      receiver.tell(plan.update(t.installedAdapter()));
      t.fillWindow();
      return t;
    }));
  }

  /** Sends {@code rendezvous} and the update of {@code payload}; the caller broadcasts the bytes. */
  static Behavior<Command> collective(long round, ActorRef<WeightSyncMessage> receiver,
      CollectiveRendezvous rendezvous, WeightPayload payload, WeightSyncSettings settings, ActorRef<Outcome> replyTo) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ReceiverTransfer t = new ReceiverTransfer(ctx, timers, round, receiver, payload.version(), null, settings,
          replyTo);
      receiver.tell(rendezvous);
      receiver.tell(ChunkPlan.update(payload, 1, t.installedAdapter()));
      timers.startSingleTimer(INSTALL_TIMER, new InstallTimeout(),
          settings.glooTimeout().plus(settings.installTimeout()));
      return t;
    }));
  }

  private ReceiverTransfer(ActorContext<Command> context, TimerScheduler<Command> timers, long round,
      ActorRef<WeightSyncMessage> receiver, long version, ChunkPlan plan, WeightSyncSettings settings,
      ActorRef<Outcome> replyTo) {
    super(context);
    this.timers = timers;
    this.round = round;
    this.receiver = receiver;
    this.version = version;
    this.plan = plan;
    this.settings = settings;
    this.replyTo = replyTo;
    this.acks = context.messageAdapter(WeightChunkAck.class, Ack::new);
    context.watch(receiver);
  }

  private ActorRef<WeightVersionInstalled> installedAdapter() {
    return getContext().messageAdapter(WeightVersionInstalled.class, Installed::new);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Ack.class, this::onAck)
        .onMessage(AckTimeout.class, this::onAckTimeout)
        .onMessage(Installed.class, this::onInstalled)
        .onMessage(InstallTimeout.class, t -> fail("did not report version " + version + " installed within "
            + (plan == null ? settings.glooTimeout().plus(settings.installTimeout()) : settings.installTimeout())
                .toMillis() + " ms"))
        .onSignal(Terminated.class, t -> fail("stopped before version " + version + " was installed"))
        .build();
  }

  private void fillWindow() {
    while (inFlight.size() < settings.chunkWindow() && nextToSend < plan.total()) {
      send(nextToSend++, 0);
    }
  }

  private void send(int index, int attempt) {
    receiver.tell(plan.chunk(index, acks));
    inFlight.put(index, attempt);
    timers.startSingleTimer(index, new AckTimeout(index, attempt), settings.ackTimeout());
  }

  private Behavior<Command> onAck(Ack m) {
    WeightChunkAck ack = m.ack();
    if (ack.version() != version || !inFlight.containsKey(ack.index())) {
      return this; // the answer to an earlier send of a chunk accepted since
    }
    switch (ack.status()) {
      case ACCEPTED:
        inFlight.remove(ack.index());
        timers.cancel(ack.index());
        accepted++;
        fillWindow();
        if (accepted == plan.total()) {
          timers.startSingleTimer(INSTALL_TIMER, new InstallTimeout(), settings.installTimeout());
        }
        return this;
      case STALE_VERSION:
        return fail("reports version " + version + " as stale: it holds a newer one");
      default:
        return retry(ack.index(), "answered " + ack.status());
    }
  }

  private Behavior<Command> onAckTimeout(AckTimeout t) {
    Integer attempt = inFlight.get(t.index());
    if (attempt == null || attempt != t.attempt()) {
      return this;
    }
    return retry(t.index(), "sent no ack within " + settings.ackTimeout().toMillis() + " ms");
  }

  private Behavior<Command> retry(int index, String why) {
    int attempt = inFlight.get(index) + 1;
    if (attempt > settings.maxRetries()) {
      return fail("chunk " + index + " of version " + version + ": " + why + ", " + attempt
          + " attempt(s), giving up (weight_max_retries = " + settings.maxRetries() + ")");
    }
    getContext().getLog().debug("resending chunk {} of version {} to {}: {}", index, version, receiver.path(), why);
    send(index, attempt);
    return this;
  }

  private Behavior<Command> onInstalled(Installed m) {
    if (m.installed().version() != version) {
      return this;
    }
    replyTo.tell(new Outcome(round, receiver, m.installed().receiverId(), null));
    return Behaviors.stopped();
  }

  private Behavior<Command> fail(String why) {
    replyTo.tell(new Outcome(round, receiver, null, "receiver " + receiver.path() + " " + why));
    return Behaviors.stopped();
  }
}
