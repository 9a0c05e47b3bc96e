package org.rlhfnode.node.role;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.rlhfnode.messages.RankCommand;
import org.rlhfnode.messages.RankTaskDone;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.transport.GlooGroup;

/**
 * The other nodes of a trainer whose ranks span several nodes, seen from the lead: each model task the
 * lead runs on its own ranks is sent, in the same order, to every other node ({@link RankCommand}), whose
 * ranks then make the same collective calls. Group {@code epoch} lives until this is {@link #abandon}ed or
 * a node fails a task ({@link #broken()}); a new load forms a new group.
 */
final class RemoteRanks {
  /** Builds the task of sequence number {@code seq} for other node {@code node} (0..) that answers {@code replyTo}. */
  @FunctionalInterface
  interface TaskFactory {
    RankCommand.Task make(long epoch, long seq, int node, ActorRef<RankTaskDone> replyTo);
  }

  /** The group lost a node: one went away, stopped answering, or the group was given up. */
  static final class PeerLost extends IllegalStateException {
    PeerLost(String message) {
      super(message);
    }
  }

  /** A node failed its share of a task on its own (its error, not another node's loss). */
  static final class NodeFailed extends IllegalStateException {
    NodeFailed(String message) {
      super(message);
    }
  }

  /**
   * How long a failed task waits for the other nodes' answers, to report a node's own error over its
   * effects: a node that failed on its own answers as its ranks end, at about the time the others fail.
   */
  private static final Duration EXPLAIN_WAIT = Duration.ofSeconds(5);

  private final List<ActorRef<RankCommand>> nodes;
  private final long epoch;
  private final Scheduler scheduler;
  private final Duration timeout;
  private final AtomicLong seq = new AtomicLong();
  private final CompletableFuture<Void> abandoned = new CompletableFuture<>();
  private volatile String broken;

  RemoteRanks(List<ActorRef<RankCommand>> nodes, long epoch, Scheduler scheduler, Duration timeout) {
    this.nodes = List.copyOf(nodes);
    this.epoch = epoch;
    this.scheduler = scheduler;
    this.timeout = timeout;
  }

  /**
   * Whether {@code error} only follows from a rank of the group going away: a failed collective or
   * rendezvous, a node lost or silent. Such a failure ends the trainer (the supervisor restores a new
   * group); any other is the run's error, reported as from a trainer on one node.
   */
  static boolean peerLost(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof PeerLost || t instanceof Collectives.CollectiveException
          || t instanceof GlooGroup.GlooException || t instanceof java.util.concurrent.TimeoutException) {
        return true;
      }
      if (t instanceof NodeFailed) {
        return false;
      }
    }
    return false;
  }

  /**
   * Sends {@code inputs} (tensor messages the task names) and then the task to every other node; the
   * future completes when all have done their share, or fails with {@link NodeFailed} or {@link PeerLost}.
   */
  CompletableFuture<Void> start(TaskFactory task, List<? extends RankCommand> inputs) {
    if (broken != null) {
      return CompletableFuture.failedFuture(new PeerLost(broken));
    }
    long n = seq.getAndIncrement();
    List<CompletableFuture<RankTaskDone>> answers = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      ActorRef<RankCommand> node = nodes.get(i);
      int index = i;
      inputs.forEach(node::tell); // the same lane as the task, so they arrive first
      answers.add(AskPattern.<RankCommand, RankTaskDone>ask(node, replyTo -> task.make(epoch, n, index, replyTo),
          timeout, scheduler).toCompletableFuture());
    }
    return CompletableFuture.allOf(answers.toArray(new CompletableFuture[0])).handle((v, e) -> {
      for (int i = 0; i < answers.size(); i++) {
        String node = "trainer node " + nodes.get(i).path().address();
        CompletableFuture<RankTaskDone> a = answers.get(i);
        if (a.isCompletedExceptionally()) {
          throw new PeerLost(node + " did not answer within " + timeout.toMinutes() + " min");
        }
        RankTaskDone done = a.join();
        if (!done.ok()) {
          throw done.peerLost() ? new PeerLost(node + ": " + done.error()) : new NodeFailed(node + ": " + done.error());
        }
      }
      return (Void) null;
    });
  }

  /** Waits for {@code others}; a node's failure (or the group being given up) breaks the group. */
  void await(CompletableFuture<Void> others) {
    try {
      CompletableFuture.anyOf(others, abandoned).join();
      if (abandoned.isDone() && !others.isDone()) {
        throw new PeerLost("the trainer's group of nodes was given up: " + abandoned.handle((v, e) ->
            e == null ? "" : e.getMessage()).join());
      }
      others.join();
    } catch (java.util.concurrent.CompletionException e) {
      throw fail(e.getCause() != null ? e.getCause() : e);
    } catch (RuntimeException e) {
      throw fail(e);
    }
  }

  /**
   * After this node's ranks failed with {@code local}: when that is only the effect of another node's
   * failure, waits (a bounded time) for that node's own error and returns it, else {@code local}.
   */
  RuntimeException explain(CompletableFuture<Void> others, RuntimeException local) {
    broken = local.getMessage();
    if (!peerLost(local)) {
      return local;
    }
    try {
      CompletableFuture.anyOf(others, abandoned).get(EXPLAIN_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      // answered with a failure (looked at below), given up, or still silent
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Throwable other = others.isCompletedExceptionally() ? others.handle((v, e) -> e).join() : null;
    if (other instanceof java.util.concurrent.CompletionException && other.getCause() != null) {
      other = other.getCause();
    }
    return other instanceof NodeFailed f ? f : local;
  }

  private RuntimeException fail(Throwable cause) {
    broken = String.valueOf(cause.getMessage());
    return cause instanceof RuntimeException re ? re : new PeerLost(cause.getMessage());
  }

  /** Whether a node failed a task or the group was given up: the group must be formed again. */
  boolean broken() {
    return broken != null || abandoned.isDone();
  }

  /** Gives the group up (a node was lost): a task waiting for the other nodes fails at once. Any thread. */
  void abandon(String why) {
    abandoned.completeExceptionally(new PeerLost(why));
  }

  /** Runs {@code action} once when the group is given up. */
  void onAbandon(Runnable action) {
    abandoned.whenComplete((v, e) -> action.run());
  }
}
