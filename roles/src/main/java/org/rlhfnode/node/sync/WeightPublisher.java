package org.rlhfnode.node.sync;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.serialization.SerializationExtension;
import org.rlhfnode.messages.CollectiveRendezvous;
import org.rlhfnode.messages.FrameTooLargeException;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.messages.WireMessage;
import org.rlhfnode.node.actor.RoleExecutor;
import org.rlhfnode.node.metrics.NodeMetrics;
import org.rlhfnode.node.sync.WeightSyncSettings.Transport;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * Publishes versioned policy weights to rollout engines' {@link WeightReceiver}s; lives beside the policy
 * trainer. One {@link Publish} at a time (later ones wait their turn); it succeeds only when every receiver
 * has reported the whole version installed. The transport is fixed at creation: {@code artery} streams
 * checksummed chunks to each receiver through a {@link ReceiverTransfer} child (window, acks, resends), and
 * {@code gloo} sends each receiver a {@link CollectiveRendezvous} and broadcasts the payload once through a
 * libtorch c10d group, kept across publishes while the receiver set stays the same (its ranks prove the
 * group's rendezvous secret, which travels only in the {@link CollectiveRendezvous}). Either way the
 * {@code WeightUpdate} announces the payload's SHA-256 digest, which receivers check before installing.
 * The digest, joining and the broadcast run on the publisher's own executor; a chunk (a few MiB at most)
 * is copied and checksummed on the child that sends it.
 */
public final class WeightPublisher extends AbstractBehavior<WeightPublisher.Command> {

  /** The publisher's protocol (local only: a payload is native memory, not a wire message). */
  public sealed interface Command permits Publish, Prepared, BroadcastDone, ReceiverDone {}

  /**
   * Send {@code payload} to {@code receivers} and answer {@code replyTo}. The caller keeps the payload and
   * must not close it before the answer.
   */
  public record Publish(WeightPayload payload, List<ActorRef<WeightSyncMessage>> receivers,
      ActorRef<PublishReply> replyTo) implements Command {
    /** Checks the fields and copies the receivers. */
    public Publish {
      Objects.requireNonNull(payload, "Publish.payload");
      receivers = List.copyOf(receivers);
      if (new HashSet<>(receivers).size() != receivers.size()) {
        throw new IllegalArgumentException("Publish.receivers lists a receiver twice");
      }
      Objects.requireNonNull(replyTo, "Publish.replyTo");
    }
  }

  /** Answer to {@link Publish}. */
  public sealed interface PublishReply extends WireMessage permits Published, PublishFailed {
    /** The version published. */
    long version();
  }

  /** Every receiver installed {@code version}; {@code seconds} from the request to the last report. */
  public record Published(long version, List<String> receiverIds, long totalBytes, double seconds, String transport)
      implements PublishReply {
    /** Copies the ids. */
    public Published {
      receiverIds = List.copyOf(receiverIds);
    }
  }

  /** {@code version} is not installed everywhere; {@code reason} names the receiver(s) and the cause. */
  public record PublishFailed(long version, String reason) implements PublishReply {}

  private record Prepared(long round, ChunkPlan plan, GlooBroadcaster.Rendezvous rendezvous, Throwable error)
      implements Command {}

  private record BroadcastDone(long round, Throwable error) implements Command {}

  private record ReceiverDone(ReceiverTransfer.Outcome outcome) implements Command {}

  /** The publish in progress. */
  private static final class Round {
    final long id;
    final Publish publish;
    final long startNanos = System.nanoTime();
    final Set<ActorRef<WeightSyncMessage>> pending;
    final List<String> installedOn = new ArrayList<>();
    final List<String> children = new ArrayList<>();
    boolean broadcastPending;
    String failure; // set when the round has failed but the broadcast still reads the payload

    Round(long id, Publish publish) {
      this.id = id;
      this.publish = publish;
      this.pending = new HashSet<>(publish.receivers());
    }

    long version() {
      return publish.payload().version();
    }
  }

  private final WeightSyncSettings settings;
  private final ExecutorService executor;
  private final GlooBroadcaster gloo; // null for artery
  private final ActorRef<ReceiverTransfer.Outcome> outcomes;
  private final ArrayDeque<Publish> queue = new ArrayDeque<>();
  private Round round;
  private long rounds;

  /** A publisher moving weights as {@code settings.transport()} says. */
  public static Behavior<Command> create(WeightSyncSettings settings) {
    return Behaviors.setup(ctx -> new WeightPublisher(ctx, settings));
  }

  private WeightPublisher(ActorContext<Command> context, WeightSyncSettings settings) {
    super(context);
    this.settings = settings;
    this.executor = RoleExecutor.create("weight-publisher-" + context.getSelf().path().name());
    String host = settings.glooHost().isBlank()
        ? context.getSystem().address().getHost().orElse("127.0.0.1") : settings.glooHost();
    this.gloo = settings.transport() == Transport.GLOO
        ? new GlooBroadcaster(host, settings.glooPort(), settings.glooTimeout()) : null;
    this.outcomes = context.messageAdapter(ReceiverTransfer.Outcome.class, ReceiverDone::new);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Publish.class, this::onPublish)
        .onMessage(Prepared.class, this::onPrepared)
        .onMessage(BroadcastDone.class, this::onBroadcastDone)
        .onMessage(ReceiverDone.class, this::onReceiverDone)
        .onSignal(PostStop.class, s -> onPostStop())
        .build();
  }

  private Behavior<Command> onPublish(Publish p) {
    if (round != null) {
      queue.add(p);
    } else {
      start(p);
    }
    return this;
  }

  private void start(Publish p) {
    Round r = new Round(++rounds, p);
    round = r;
    if (p.receivers().isEmpty()) {
      finishIfDone();
      return;
    }
    // the digest the updates announce reads the whole payload once: on the executor, not the actor's thread
    CompletableFuture<Prepared> prepared = CompletableFuture.supplyAsync(() -> {
      p.payload().digest();
      return settings.transport() == Transport.ARTERY
          ? new Prepared(r.id, ChunkPlan.of(p.payload(), settings.chunkGuard()), null, null)
          : new Prepared(r.id, null, gloo.prepare(p.receivers()), null);
    }, executor);
    getContext().pipeToSelf(prepared, (ok, error) -> error == null ? ok : new Prepared(r.id, null, null, error));
  }

  private Behavior<Command> onPrepared(Prepared m) {
    if (round == null || m.round() != round.id) {
      return this;
    }
    if (m.error() != null) {
      return failRound("preparing the transfer failed: " + rootMessage(m.error()));
    }
    if (m.plan() != null) {
      try {
        settings.chunkGuard().check(m.plan().update(getContext().getSystem().ignoreRef()),
            SerializationExtension.get(getContext().getSystem()));
      } catch (FrameTooLargeException e) {
        return failRound("the WeightUpdate of version " + round.version() + " does not fit a frame: " + e.getMessage());
      }
      sendChunks(m.plan());
    } else {
      startCollective(m.rendezvous());
    }
    return this;
  }

  private void sendChunks(ChunkPlan plan) {
    List<ActorRef<WeightSyncMessage>> receivers = round.publish.receivers();
    for (int i = 0; i < receivers.size(); i++) {
      spawnChild(i, ReceiverTransfer.artery(round.id, receivers.get(i), plan, settings, outcomes));
    }
  }

  private void startCollective(GlooBroadcaster.Rendezvous rv) {
    Round r = round;
    for (int i = 0; i < rv.members().size(); i++) {
      CollectiveRendezvous msg = new CollectiveRendezvous(r.version(), "gloo", rv.host(), rv.port(), rv.secret(),
          rv.worldSize(), i + 1);
      spawnChild(i, ReceiverTransfer.collective(r.id, rv.members().get(i), msg, r.publish.payload(), settings,
          outcomes));
    }
    r.broadcastPending = true;
    CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> gloo.broadcast(r.publish.payload().buffer()),
        executor);
    getContext().pipeToSelf(sent, (ok, error) -> new BroadcastDone(r.id, error));
  }

  private void spawnChild(int index, Behavior<ReceiverTransfer.Command> behavior) {
    String name = "transfer-" + round.id + "-" + index;
    round.children.add(name);
    getContext().spawn(behavior, name);
  }

  private Behavior<Command> onBroadcastDone(BroadcastDone m) {
    if (round == null || m.round() != round.id) {
      return this;
    }
    round.broadcastPending = false;
    if (m.error() != null) {
      return failRound("gloo broadcast failed: " + rootMessage(m.error()) + "; not installed on "
          + round.pending.stream().map(a -> a.path().toString()).sorted().toList());
    }
    if (round.failure != null) {
      return failRound(round.failure);
    }
    finishIfDone();
    return this;
  }

  private Behavior<Command> onReceiverDone(ReceiverDone m) {
    ReceiverTransfer.Outcome o = m.outcome();
    if (round == null || o.round() != round.id || round.failure != null) {
      return this;
    }
    if (!o.ok()) {
      return failRound(o.failure());
    }
    round.pending.remove(o.receiver());
    round.installedOn.add(o.receiverId());
    finishIfDone();
    return this;
  }

  private void finishIfDone() {
    if (!round.pending.isEmpty() || round.broadcastPending) {
      return;
    }
    double seconds = (System.nanoTime() - round.startNanos) / 1e9;
    WeightPayload payload = round.publish.payload();
    getContext().getLog().info("published weight version {} ({} bytes) to {} receiver(s) by {} in {} s",
        payload.version(), payload.totalBytes(), round.installedOn.size(), settings.transport().label(),
        String.format("%.3f", seconds));
    NodeMetrics.get(getContext().getSystem()).published(payload.version(), payload.totalBytes(), round.installedOn.size());
    round.publish.replyTo().tell(new Published(payload.version(), round.installedOn.stream().sorted().toList(),
        payload.totalBytes(), seconds, settings.transport().label()));
    next();
  }

  /** Answers the failure, but only once the broadcast (if any) no longer reads the caller's payload. */
  private Behavior<Command> failRound(String reason) {
    round.children.forEach(name -> getContext().getChild(name).ifPresent(getContext()::stop));
    if (round.broadcastPending) {
      round.failure = round.failure == null ? reason : round.failure;
      return this;
    }
    getContext().getLog().warn("publishing weight version {} failed: {}", round.version(), reason);
    round.publish.replyTo().tell(new PublishFailed(round.version(), reason));
    next();
    return this;
  }

  private void next() {
    round = null;
    Publish p = queue.poll();
    if (p != null) {
      start(p);
    }
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && (c.getMessage() == null || c instanceof java.util.concurrent.CompletionException)) {
      c = c.getCause();
    }
    return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
  }

  /** Fails what is left, from the executor: a broadcast still reading a payload finishes first. */
  private Behavior<Command> onPostStop() {
    if (round != null) {
      queue.addFirst(round.publish);
    }
    List<Publish> left = List.copyOf(queue);
    executor.execute(() -> left.forEach(p -> p.replyTo().tell(new PublishFailed(p.payload().version(),
        "the weight publisher stopped"))));
    if (gloo != null) {
      executor.execute(gloo::close);
    }
    executor.shutdown();
    return this;
  }
}
