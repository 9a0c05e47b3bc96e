package org.rlhfnode.node.sync;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.rlhfnode.messages.CollectiveRendezvous;
import org.rlhfnode.messages.WeightChunk;
import org.rlhfnode.messages.WeightChunkAck;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.messages.WeightUpdate;
import org.rlhfnode.messages.WeightVersionInstalled;
import org.rlhfnode.node.actor.RoleExecutor;
import org.rlhfnode.runtime.transport.GlooGroup;
import org.rlhfnode.runtime.transport.PayloadBuffer;
import org.rlhfnode.runtime.transport.PayloadDigest;
import org.rlhfnode.runtime.transport.RendezvousSecret;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * Receives weight versions beside a rollout engine (its owner) from a {@link WeightPublisher}, by either
 * transport. Artery: stages the {@link WeightChunk}s of one version (in any order, before or after their
 * {@link WeightUpdate}), acks each ({@code CHECKSUM_MISMATCH}, {@code MALFORMED}, {@code STALE_VERSION} for
 * a version older than one it holds), and drops a version as soon as a newer one starts. Gloo: on a
 * {@link CollectiveRendezvous} and its update, joins (or reuses) the publisher's group and receives the
 * broadcast on its own executor. Either way the bytes are hashed on that executor, and only a complete
 * payload whose {@code PayloadDigest} equals the {@code sha256} its update announced goes to the owner
 * ({@link Deliver}; a payload that does not match is dropped with one error line); the owner
 * installs it and answers, and the receiver then reports {@link WeightVersionInstalled} to the update's
 * {@code replyTo}. A version sent again after it was delivered is acknowledged without being staged twice.
 */
public final class WeightReceiver extends AbstractBehavior<WeightSyncMessage> {
  /** How rollout engines' receivers are found (the Receptionist). */
  public static final ServiceKey<WeightSyncMessage> KEY = ServiceKey.create(WeightSyncMessage.class, "weight-receiver");

  /** To the owner: install this complete version, then tell {@code replyTo}. The owner closes the payload. */
  public record Deliver(WeightPayload payload, ActorRef<WeightVersionInstalled> replyTo) {
    /** Checks the fields. */
    public Deliver {
      Objects.requireNonNull(payload, "Deliver.payload");
      Objects.requireNonNull(replyTo, "Deliver.replyTo");
    }
  }

  /**
   * From the owner, after a rollback to {@code version}: forget every version delivered, installed or being
   * received, and take only {@code version} until it is handed over: bytes of any other version still on
   * their way (the abandoned iterations') are refused as stale, and their installs no longer answer anyone.
   * Local only.
   */
  public record Reset(long version) implements WeightSyncMessage {}

  private record OwnerInstalled(WeightVersionInstalled installed) implements WeightSyncMessage {}

  /** A broadcast's bytes and their digest, or why it failed. */
  private record CollectiveDone(WeightUpdate update, PayloadBuffer buffer, String digest, Throwable error)
      implements WeightSyncMessage {}

  /** The digest of a chunked version's complete payload, or why hashing failed. */
  private record Hashed(WeightUpdate update, WeightPayload payload, String digest, Throwable error)
      implements WeightSyncMessage {}

  private record Received(PayloadBuffer buffer, String digest) {}

  private static final long NONE = -1;

  private final String receiverId;
  private final Duration glooTimeout;
  private final ActorRef<Deliver> owner;
  private final ActorRef<WeightVersionInstalled> ownerReplies;
  /** Newest version handed to the owner, and the newest the owner reported installed. */
  private long delivered = NONE;
  private long installed = NONE;
  private long installedBytes;
  /** A chunked version complete and being hashed; NONE otherwise. */
  private long hashing = NONE;
  /** After a {@link Reset}: the only version taken until it is delivered; NONE otherwise. */
  private long fence = NONE;
  private ChunkStaging staging;
  /** Who to tell once a delivered version is installed. */
  private final Map<Long, List<ActorRef<WeightVersionInstalled>>> waiting = new HashMap<>();
  /** Rendezvous whose update has not come yet, by version. */
  private final Map<Long, CollectiveRendezvous> rendezvous = new HashMap<>();
  /** Created on the first rendezvous: joins and broadcasts block. */
  private ExecutorService executor;
  /** The c10d group; touched only on {@link #executor}. */
  private GlooGroup group;

  /**
   * A receiver named {@code receiverId} (in acks and reports; unique among a publisher's receivers) that
   * hands complete versions to {@code owner}; {@code glooTimeout} bounds joining a group and a broadcast.
   */
  public static Behavior<WeightSyncMessage> create(String receiverId, Duration glooTimeout, ActorRef<Deliver> owner) {
    return Behaviors.setup(ctx -> new WeightReceiver(ctx, receiverId, glooTimeout, owner));
  }

  private WeightReceiver(ActorContext<WeightSyncMessage> context, String receiverId, Duration glooTimeout,
      ActorRef<Deliver> owner) {
    super(context);
    this.receiverId = Objects.requireNonNull(receiverId, "receiverId");
    this.glooTimeout = Objects.requireNonNull(glooTimeout, "glooTimeout");
    this.owner = Objects.requireNonNull(owner, "owner");
    this.ownerReplies = context.messageAdapter(WeightVersionInstalled.class, OwnerInstalled::new);
  }

  @Override
  public Receive<WeightSyncMessage> createReceive() {
    return newReceiveBuilder()
        .onMessage(WeightChunk.class, this::onChunk)
        .onMessage(WeightUpdate.class, this::onUpdate)
        .onMessage(CollectiveRendezvous.class, this::onRendezvous)
        .onMessage(CollectiveDone.class, this::onCollectiveDone)
        .onMessage(Hashed.class, this::onHashed)
        .onMessage(OwnerInstalled.class, this::onOwnerInstalled)
        .onMessage(Reset.class, this::onReset)
        .onSignal(PostStop.class, s -> onPostStop())
        .build();
  }

  /** Older than what is delivered or being hashed, or than the version being staged. */
  private boolean isStale(long version) {
    return fence != NONE ? version != fence
        : version < delivered || version < hashing || (staging != null && version < staging.version());
  }

  /** Complete here already: delivered, or complete and being hashed. */
  private boolean isComplete(long version) {
    return version == delivered || version == hashing;
  }

  private Behavior<WeightSyncMessage> onChunk(WeightChunk c) {
    WeightChunkAck.Status status;
    if (isStale(c.version())) {
      status = WeightChunkAck.Status.STALE_VERSION;
    } else if (isComplete(c.version())) {
      status = c.verify(receiverId).status(); // a resend of a version already complete here
    } else {
      status = stagingFor(c.version()).accept(c);
    }
    c.replyTo().tell(new WeightChunkAck(c.version(), c.index(), receiverId, status));
    if (status == WeightChunkAck.Status.ACCEPTED && staging != null) {
      deliverIfComplete();
    }
    return this;
  }

  private Behavior<WeightSyncMessage> onUpdate(WeightUpdate u) {
    CollectiveRendezvous r = rendezvous.remove(u.version());
    if (r != null) {
      startCollective(r, u);
    } else if (isStale(u.version())) {
      getContext().getLog().debug("ignoring update of stale version {}", u.version());
    } else if (isComplete(u.version())) {
      answerWhenInstalled(u.version(), u.replyTo());
    } else {
      String conflict = stagingFor(u.version()).setUpdate(u);
      if (conflict != null) {
        getContext().getLog().warn("{}: {}; dropped the staged chunks", receiverId, conflict);
      }
      deliverIfComplete();
    }
    return this;
  }

  /** The staging of {@code version}, replacing (and freeing) the staging of an older one. */
  private ChunkStaging stagingFor(long version) {
    if (staging != null && staging.version() != version) {
      getContext().getLog().info("{}: version {} supersedes the incomplete version {}", receiverId, version,
          staging.version());
      staging.close();
      staging = null;
    }
    if (staging == null) {
      staging = new ChunkStaging(version);
    }
    return staging;
  }

  private void deliverIfComplete() {
    if (!staging.chunksComplete()) {
      return;
    }
    ChunkStaging done = staging;
    staging = null;
    WeightPayload payload;
    try {
      payload = done.takePayload();
    } catch (IllegalArgumentException e) {
      getContext().getLog().error("{}: version {} is complete but its layout is unusable: {}", receiverId,
          done.version(), e.getMessage());
      return;
    } finally {
      done.close();
    }
    hashing = payload.version();
    WeightUpdate u = done.update();
    CompletableFuture<String> digest = CompletableFuture.supplyAsync(() -> PayloadDigest.of(payload.buffer()),
        executor());
    getContext().pipeToSelf(digest, (d, error) -> new Hashed(u, payload, d, error));
  }

  private Behavior<WeightSyncMessage> onHashed(Hashed h) {
    WeightUpdate u = h.update();
    if (hashing == u.version()) {
      hashing = NONE;
    }
    if (h.error() != null || isStale(u.version()) || u.version() == delivered) {
      h.payload().close(); // a reset or a newer version came meanwhile
      if (h.error() == null && u.version() == delivered) {
        answerWhenInstalled(u.version(), u.replyTo()); // this copy's sender waits for the install too
      }
      if (h.error() != null) {
        getContext().getLog().error("{}: hashing version {} failed: {}", receiverId, u.version(), h.error().getMessage());
      }
      return this;
    }
    if (refused(u, h.digest())) {
      h.payload().close();
      return this;
    }
    deliver(h.payload(), u.replyTo());
    return this;
  }

  /**
   * Whether {@code digest} (of the bytes received) differs from what the update announced; then the
   * version is refused with one error line, and whoever waits for it is forgotten (the publisher times out).
   */
  private boolean refused(WeightUpdate u, String digest) {
    if (u.sha256().equals(digest)) {
      return false;
    }
    waiting.remove(u.version());
    getContext().getLog().error("{}: refused weight version {}: its {} bytes hash to {} but the trainer announced {}"
        + " over the cluster; not installed", receiverId, u.version(), u.totalBytes(), digest, u.sha256());
    return true;
  }

  private ExecutorService executor() {
    if (executor == null) {
      executor = RoleExecutor.create("weight-receiver-" + getContext().getSelf().path().name());
    }
    return executor;
  }

  private void deliver(WeightPayload payload, ActorRef<WeightVersionInstalled> replyTo) {
    delivered = payload.version();
    fence = NONE;
    waiting.computeIfAbsent(delivered, v -> new ArrayList<>()).add(replyTo);
    getContext().getLog().debug("{}: version {} complete ({} bytes), handing it to the owner", receiverId,
        delivered, payload.totalBytes());
    owner.tell(new Deliver(payload, ownerReplies));
  }

  private void answerWhenInstalled(long version, ActorRef<WeightVersionInstalled> replyTo) {
    if (installed == version) {
      replyTo.tell(new WeightVersionInstalled(version, receiverId, installedBytes));
    } else {
      waiting.computeIfAbsent(version, v -> new ArrayList<>()).add(replyTo);
    }
  }

  private Behavior<WeightSyncMessage> onOwnerInstalled(OwnerInstalled m) {
    long version = m.installed().version();
    if (fence != NONE || (version != delivered && !waiting.containsKey(version))) {
      return this; // an install of the abandoned iterations, finishing after a reset
    }
    if (version > installed) {
      installed = version;
      installedBytes = m.installed().totalBytes();
    }
    WeightVersionInstalled report = new WeightVersionInstalled(version, receiverId, m.installed().totalBytes());
    waiting.getOrDefault(version, List.of()).forEach(r -> r.tell(report));
    waiting.keySet().removeIf(v -> v <= version); // an older delivered version will never be installed now
    return this;
  }

  private Behavior<WeightSyncMessage> onReset(Reset r) {
    fence = r.version();
    delivered = NONE;
    hashing = NONE;
    installed = NONE;
    installedBytes = 0;
    if (staging != null) {
      staging.close();
      staging = null;
    }
    waiting.clear();
    rendezvous.clear();
    return this;
  }

  private Behavior<WeightSyncMessage> onRendezvous(CollectiveRendezvous r) {
    if (!"gloo".equals(r.backend())) {
      getContext().getLog().error("{}: rendezvous for version {} asks for {}, but this receiver only joins gloo"
          + " groups", receiverId, r.version(), r.backend());
      return this;
    }
    if (staging != null && staging.version() == r.version() && staging.update() != null && !staging.hasChunks()) {
      WeightUpdate u = staging.update(); // the update overtook its rendezvous
      staging.close();
      staging = null;
      startCollective(r, u);
    } else {
      rendezvous.put(r.version(), r);
    }
    return this;
  }

  /** Takes part in the broadcast even for a version it already has: the other ranks wait for every rank. */
  private void startCollective(CollectiveRendezvous r, WeightUpdate u) {
    CompletableFuture<Received> received = CompletableFuture.supplyAsync(() -> receiveBroadcast(r, u), executor());
    getContext().pipeToSelf(received, (ok, error) -> error == null ? new CollectiveDone(u, ok.buffer(), ok.digest(), null)
        : new CollectiveDone(u, null, null, error));
  }

  /** On the executor: the current group of the publisher (joined again if it moved on), the bytes, their digest. */
  private Received receiveBroadcast(CollectiveRendezvous r, WeightUpdate u) {
    if (group != null && !(group.matches(r.storeHost(), r.storePort(), r.worldSize(), r.rank()) && group.isCurrent())) {
      group.close();
      group = null;
    }
    if (group == null) {
      group = GlooGroup.join(r.storeHost(), r.storePort(), RendezvousSecret.ofHex(r.storeSecret()), r.worldSize(),
          r.rank(), glooTimeout);
    }
    PayloadBuffer buffer = PayloadBuffer.allocate(u.totalBytes());
    try {
      group.broadcast(buffer);
    } catch (RuntimeException e) {
      buffer.close();
      group.close();
      group = null;
      throw e;
    }
    try {
      return new Received(buffer, PayloadDigest.of(buffer));
    } catch (RuntimeException e) {
      buffer.close();
      throw e;
    }
  }

  private Behavior<WeightSyncMessage> onCollectiveDone(CollectiveDone d) {
    WeightUpdate u = d.update();
    if (d.error() != null) {
      getContext().getLog().warn("{}: receiving version {} by broadcast failed: {}", receiverId, u.version(),
          d.error().getMessage());
      return this;
    }
    if (isStale(u.version()) || u.version() == delivered) {
      d.buffer().close();
      if (u.version() == delivered) {
        answerWhenInstalled(u.version(), u.replyTo());
      }
      return this;
    }
    if (refused(u, d.digest())) {
      d.buffer().close();
      return this;
    }
    if (staging != null) {
      staging.close(); // same version by chunks, or an older one
      staging = null;
    }
    try {
      deliver(new WeightPayload(u.version(), d.buffer(), ChunkPlan.entries(u.layout())), u.replyTo());
    } catch (IllegalArgumentException e) {
      d.buffer().close();
      getContext().getLog().error("{}: version {} arrived but its layout is unusable: {}", receiverId, u.version(),
          e.getMessage());
    }
    return this;
  }

  private Behavior<WeightSyncMessage> onPostStop() {
    if (staging != null) {
      staging.close();
    }
    if (executor != null) {
      executor.execute(() -> {
        if (group != null) {
          group.close();
        }
      });
      executor.shutdown();
    }
    return this;
  }
}
