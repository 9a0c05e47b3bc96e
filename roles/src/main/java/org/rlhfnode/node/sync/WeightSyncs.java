package org.rlhfnode.node.sync;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.ActorPath;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.messages.WeightsSynced;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * The policy trainer's {@link WeightSync}: a {@link WeightPublisher} (spawned here, transport from
 * {@code rlhf.weight_sync}) sending each version to every {@link WeightReceiver} the Receptionist lists
 * at that moment, i.e. to every rollout engine of the cluster.
 */
public final class WeightSyncs implements WeightSync {
  private static final Duration FIND_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration FIND_AGAIN = Duration.ofMillis(250);

  private final ActorSystem<?> system;
  private final ActorRef<WeightPublisher.Command> publisher;
  private final WeightSyncSettings settings;

  private WeightSyncs(ActorSystem<?> system, ActorRef<WeightPublisher.Command> publisher,
      WeightSyncSettings settings) {
    this.system = system;
    this.publisher = publisher;
    this.settings = settings;
  }

  /** A publisher child of {@code ctx} named {@code weight-publisher}, with {@code settings}. */
  public static WeightSync create(ActorContext<?> ctx, WeightSyncSettings settings) {
    return new WeightSyncs(ctx.getSystem(), ctx.spawn(WeightPublisher.create(settings), "weight-publisher"),
        settings);
  }

  @Override
  public String transport() {
    return settings.transport().label();
  }

  @Override
  public CompletableFuture<WeightsSynced> publish(WeightPayload payload, List<ActorRef<RolloutCommand>> engines) {
    long version = payload.version();
    // the whole transfer: every chunk's ack window and the install, with room for retries
    Duration timeout = settings.installTimeout().plus(settings.ackTimeout().multipliedBy(settings.maxRetries() + 1L))
        .plus(settings.glooTimeout());
    CompletableFuture<WeightsSynced> result = receivers(engines, System.nanoTime() + FIND_TIMEOUT.toNanos())
        .thenCompose(receivers -> {
          if (receivers.isEmpty()) {
            return CompletableFuture.completedFuture(WeightsSynced.failed(version, transport(), engines.isEmpty()
                ? "no rollout engine is registered to receive weights"
                : "none of the engines " + engines.stream().map(e -> e.path().toString()).toList()
                    + " has a registered weight receiver"));
          }
          return AskPattern.<WeightPublisher.Command, WeightPublisher.PublishReply>ask(publisher,
                  replyTo -> new WeightPublisher.Publish(payload, receivers, replyTo), timeout, system.scheduler())
              .thenApply(this::toSynced);
        }).toCompletableFuture();
    return result.whenComplete((r, e) -> payload.close());
  }

  /**
   * The receivers to publish to: those of {@code engines}, or every one listed when {@code engines} is
   * empty. Registrations reach this node's Receptionist by gossip, a moment after the engine's own (which
   * the supervisor saw), so until {@code deadline} it asks again every {@link #FIND_AGAIN} while a target
   * (or, for all engines, any receiver) is missing; then it goes on with what it has.
   */
  private CompletableFuture<List<ActorRef<WeightSyncMessage>>> receivers(List<ActorRef<RolloutCommand>> engines,
      long deadline) {
    return AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
            replyTo -> Receptionist.find(WeightReceiver.KEY, replyTo), FIND_TIMEOUT, system.scheduler())
        .toCompletableFuture()
        .thenCompose(listing -> {
          List<ActorRef<WeightSyncMessage>> found = receiversOf(listing, engines);
          boolean complete = engines.isEmpty() ? !found.isEmpty() : found.size() == engines.size();
          if (complete || System.nanoTime() > deadline) {
            return CompletableFuture.completedFuture(found);
          }
          Executor later = CompletableFuture.delayedExecutor(FIND_AGAIN.toMillis(), TimeUnit.MILLISECONDS);
          return CompletableFuture.supplyAsync(() -> null, later).thenCompose(x -> receivers(engines, deadline));
        });
  }

  /** The receivers listed, or only those of {@code engines} (a receiver is its engine's child). */
  private static List<ActorRef<WeightSyncMessage>> receiversOf(Receptionist.Listing listing,
      List<ActorRef<RolloutCommand>> engines) {
    List<ActorRef<WeightSyncMessage>> all = List.copyOf(listing.getServiceInstances(WeightReceiver.KEY));
    if (engines.isEmpty()) {
      return all;
    }
    Set<ActorPath> wanted = engines.stream().map(ActorRef::path).collect(Collectors.toSet());
    return all.stream().filter(r -> wanted.contains(r.path().parent())).toList();
  }

  private WeightsSynced toSynced(WeightPublisher.PublishReply reply) {
    if (reply instanceof WeightPublisher.Published p) {
      return new WeightsSynced(p.version(), p.receiverIds(), p.totalBytes(), p.seconds(), p.transport(), "");
    }
    WeightPublisher.PublishFailed f = (WeightPublisher.PublishFailed) reply;
    return WeightsSynced.failed(f.version(), transport(), f.reason());
  }
}
