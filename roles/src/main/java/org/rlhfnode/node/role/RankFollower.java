package org.rlhfnode.node.role;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.RankCommand;
import org.rlhfnode.messages.RankTaskDone;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.node.actor.RoleErrors;
import org.rlhfnode.node.actor.RoleExecutor;

/**
 * A trainer node's ranks when another node leads (a policy or critic over several nodes): on a
 * {@link RankCommand.Join} it loads the model on its ranks in the lead's group, then does its share of
 * each task the lead sends, in arrival order on its own thread, and answers each with a
 * {@link RankTaskDone}. The tensors a task names arrive just before it and wait here. When the lead's
 * trainer stops (its node lost, or the group given up) the ranks are closed and the node waits for the
 * next group.
 */
public final class RankFollower extends AbstractBehavior<RankCommand> {
  private record Done(RankCommand.Task task, Throwable error) implements RankCommand.Local {}

  private final Learner learner;
  private final ExecutorService executor;
  private final Map<RequestId, ExperienceBatch> batches = new HashMap<>();
  private final Map<RequestId, ScoreRequest> scores = new HashMap<>();
  private Learner.Loaded current; // the executor's thread only
  private long epoch = -1;
  private ActorRef<TrainerCommand> lead;

  /** @param learner what this node's ranks train (policy or critic) */
  public static Behavior<RankCommand> create(Learner learner) {
    return Behaviors.setup(ctx -> new RankFollower(ctx, learner));
  }

  private RankFollower(ActorContext<RankCommand> ctx, Learner learner) {
    super(ctx);
    this.learner = learner;
    this.executor = RoleExecutor.create(learner.role().label() + "-follower");
  }

  @Override
  public Receive<RankCommand> createReceive() {
    return newReceiveBuilder()
        .onMessage(ExperienceBatch.class, this::onBatch)
        .onMessage(ScoreRequest.class, this::onScoreRequest)
        .onMessage(RankCommand.Join.class, this::onJoin)
        .onMessage(RankCommand.Task.class, this::onTask)
        .onMessage(Done.class, this::onDone)
        .onSignal(Terminated.class, this::onLeadGone)
        .onSignal(PostStop.class, s -> onStop())
        .build();
  }

  private Behavior<RankCommand> onBatch(ExperienceBatch b) {
    batches.put(b.batchId(), b); // named by the Train task that follows
    return this;
  }

  private Behavior<RankCommand> onScoreRequest(ScoreRequest r) {
    scores.put(r.requestId(), r); // named by the Score task that follows
    return this;
  }

  private Behavior<RankCommand> onJoin(RankCommand.Join join) {
    if (lead != null) {
      getContext().unwatch(lead);
    }
    lead = join.lead();
    epoch = join.epoch();
    getContext().watch(lead);
    batches.clear();
    scores.clear();
    getContext().getLog().info("{}: joining the group of {} ranks led by {} as ranks {}..", learner.role(),
        join.worldSize(), lead.path().address(), join.firstRank());
    run(join, l -> {
      closeCurrent();
      current = learner.follow(join);
      return null;
    });
    return this;
  }

  private Behavior<RankCommand> onTask(RankCommand.Task task) {
    if (task.epoch() != epoch) {
      task.replyTo().tell(new RankTaskDone(task.epoch(), task.seq(), "this node is not in group " + task.epoch()
          + (epoch < 0 ? " (it is in none)" : " (it is in " + epoch + ")"), true));
      return this;
    }
    if (task instanceof RankCommand.Score s) {
      ScoreRequest r = scores.remove(s.requestId());
      if (r == null) {
        return missing(task, "score request " + s.requestId());
      }
      run(task, l -> l.score(r));
    } else if (task instanceof RankCommand.Train t) {
      List<ExperienceBatch> mine = new ArrayList<>();
      for (RequestId id : t.batchIds()) {
        ExperienceBatch b = batches.remove(id);
        if (b == null) {
          return missing(task, "experience batch " + id);
        }
        mine.add(b);
      }
      run(task, l -> l.train(mine, t.iteration()));
    } else if (task instanceof RankCommand.Payload p) {
      run(task, l -> l.payload(p.version()));
    } else if (task instanceof RankCommand.Export x) {
      run(task, l -> l.export(Path.of(x.directory())));
    } else if (task instanceof RankCommand.WritePart w) {
      run(task, l -> l.writePart(Path.of(w.directory()), w.tag(), w.iteration(), w.version(), w.runId()));
    } else if (task instanceof RankCommand.Restore r) {
      run(task, l -> l.restore(Path.of(r.directory())));
    }
    return this;
  }

  private Behavior<RankCommand> missing(RankCommand.Task task, String what) {
    task.replyTo().tell(new RankTaskDone(task.epoch(), task.seq(), what + " never reached this node", false));
    return this;
  }

  /** Runs {@code work} on the loaded ranks (or, for a join, none yet) on the node's thread; answers when done. */
  private void run(RankCommand.Task task, Function<Learner.Loaded, Object> work) {
    CompletableFuture<Object> done = CompletableFuture.supplyAsync(() -> {
      if (current == null && !(task instanceof RankCommand.Join)) {
        throw new IllegalStateException("no ranks loaded: joining the group failed");
      }
      return work.apply(current);
    }, executor);
    getContext().pipeToSelf(done, (v, error) -> new Done(task, error));
  }

  private Behavior<RankCommand> onDone(Done d) {
    RankCommand.Task t = d.task();
    if (d.error() != null) {
      RoleErrors.warn(getContext().getLog(), learner.role() + ": this node's share of " + t.getClass().getSimpleName()
          + " " + t.seq() + " failed", d.error());
    }
    t.replyTo().tell(d.error() == null ? RankTaskDone.done(t.epoch(), t.seq())
        : new RankTaskDone(t.epoch(), t.seq(), RoleErrors.oneLine(d.error()), RemoteRanks.peerLost(d.error())));
    return this;
  }

  private Behavior<RankCommand> onLeadGone(Terminated t) {
    if (!t.getRef().equals(lead)) {
      return this;
    }
    getContext().getLog().info("{}: the lead trainer {} is gone; this node's ranks leave group {}", learner.role(),
        lead.path(), epoch);
    lead = null;
    epoch = -1;
    batches.clear();
    scores.clear();
    executor.execute(this::closeCurrent);
    return this;
  }

  /** The executor's thread: closes the ranks of the last group, if any. */
  private void closeCurrent() {
    Learner.Loaded old = current;
    current = null;
    if (old != null) {
      try {
        old.close();
      } catch (RuntimeException e) {
        // its group had failed (that failure was answered); the ranks are gone either way
      }
    }
  }

  private Behavior<RankCommand> onStop() {
    executor.execute(this::closeCurrent);
    executor.shutdown();
    return this;
  }
}
