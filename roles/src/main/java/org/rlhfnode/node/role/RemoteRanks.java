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

  long epoch() {
    return epoch;
  }

  List<ActorRef<RankCommand>> nodes() {
    return nodes;
  }

  /**
   * Sends {@code inputs} (tensor messages the task names) and then the task to every other node; the
   * future completes when all have done their share.
   */
  CompletableFuture<Void> start(TaskFactory task, List<? extends RankCommand> inputs) {
    if (broken != null) {
      return CompletableFuture.failedFuture(new IllegalStateException(broken));
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
    return CompletableFuture.allOf(answers.toArray(new CompletableFuture[0])).thenApply(v -> {
      for (int i = 0; i < answers.size(); i++) {
        RankTaskDone done = answers.get(i).join();
        if (!done.ok()) {
          throw new IllegalStateException("trainer node " + nodes.get(i).path().address() + ": " + done.error());
        }
      }
      return (Void) null;
    });
  }

  /** Waits for {@code others}; a node's failure (or the group being abandoned) breaks the group. */
  void await(CompletableFuture<Void> others) {
    try {
      CompletableFuture.anyOf(others, abandoned).join();
      if (abandoned.isDone()) {
        throw new IllegalStateException("the trainer's group of nodes was given up: " + abandoned.handle((v, e) ->
            e == null ? "" : e.getMessage()).join());
      }
      others.join();
    } catch (RuntimeException e) {
      Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
          ? e.getCause() : e;
      broken = cause.getMessage();
      throw cause instanceof RuntimeException re ? re : new IllegalStateException(cause.getMessage(), cause);
    }
  }

  /** Whether a node failed a task or the group was given up: the group must be formed again. */
  boolean broken() {
    return broken != null || abandoned.isDone();
  }

  /** Gives the group up (a node was lost): a task waiting for the other nodes fails at once. Any thread. */
  void abandon(String why) {
    abandoned.completeExceptionally(new IllegalStateException(why));
  }

  /** Runs {@code action} once when the group is given up. */
  void onAbandon(Runnable action) {
    abandoned.whenComplete((v, e) -> action.run());
  }
}
