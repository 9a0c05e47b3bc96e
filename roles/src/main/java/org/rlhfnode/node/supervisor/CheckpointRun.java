package org.rlhfnode.node.supervisor;

import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.rlhfnode.messages.CheckpointFailed;
import org.rlhfnode.messages.CheckpointReply;
import org.rlhfnode.messages.CheckpointRequest;
import org.rlhfnode.messages.CheckpointSaved;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.node.actor.RoleErrors;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;

/**
 * A short-lived child of the {@link Supervisor} that takes one checkpoint as a two-phase commit: it
 * opens a hidden staging directory under {@code ckpt_path}, asks every stateful role to write its part
 * there (each part has its own manifest, written last), writes the run's own part ({@link RunSnapshot}),
 * and only when every part has reported its manifest's SHA-256 writes the top manifest and renames the
 * staging directory into place. A part that fails or does not come within the timeout aborts the
 * checkpoint: it stays invisible, and the next checkpoint's start removes the staging directory. With an
 * export directory it instead asks the roles for their final HuggingFace model directories. File work
 * runs on the supervisor's executor. Answers once and stops.
 */
final class CheckpointRun extends AbstractBehavior<CheckpointRun.Command> {

  /** The child's mailbox. */
  sealed interface Command permits Began, PartAnswer, RunPartWritten, CommitDone {}

  /** What the child tells its parent. */
  sealed interface Outcome permits Committed, Failed {}

  /** The checkpoint (or export) of {@code iteration} is complete in {@code dir}. */
  record Committed(long lineage, int iteration, boolean export, Path dir) implements Outcome {}

  /** It is not; nothing of it is visible. */
  record Failed(long lineage, int iteration, boolean export, String error) implements Outcome {}

  private record Began(Path staging, Throwable error) implements Command {}

  private record PartAnswer(Role role, CheckpointReply reply, Throwable error) implements Command {}

  private record RunPartWritten(String sha, Throwable error) implements Command {}

  private record CommitDone(Path dir, Throwable error) implements Command {}

  private final long lineage;
  private final RunCheckpoints checkpoints;
  private final RunSnapshot snapshot;
  private final Path metrics;
  private final Path exportDir;
  private final Map<Role, ActorRef<TrainerCommand>> trainers;
  private final Duration timeout;
  private final ExecutorService executor;
  private final ActorRef<Outcome> parent;
  private final Map<String, String> partShas = new TreeMap<>();
  private final Map<Role, Boolean> saved = new EnumMap<>(Role.class);
  private Path staging;

  /**
   * @param snapshot the run state at the boundary (its iteration names the checkpoint)
   * @param metrics the run's {@code metrics.jsonl}, flushed through the boundary
   * @param exportDir null for a checkpoint; else the directory the final models go to
   */
  static Behavior<Command> create(long lineage, RunCheckpoints checkpoints, RunSnapshot snapshot, Path metrics,
      Path exportDir, Map<Role, ActorRef<TrainerCommand>> trainers, Duration timeout, ExecutorService executor,
      ActorRef<Outcome> parent) {
    return Behaviors.setup(ctx -> {
      CheckpointRun run = new CheckpointRun(ctx, lineage, checkpoints, snapshot, metrics, exportDir, trainers, timeout,
          executor, parent);
      if (exportDir != null) {
        run.askParts(exportDir);
      } else {
        CompletableFuture<Path> began = CompletableFuture.supplyAsync(() -> checkpoints.begin(snapshot.tag()), executor);
        ctx.pipeToSelf(began, Began::new);
      }
      return run;
    });
  }

  private CheckpointRun(ActorContext<Command> ctx, long lineage, RunCheckpoints checkpoints, RunSnapshot snapshot,
      Path metrics, Path exportDir, Map<Role, ActorRef<TrainerCommand>> trainers, Duration timeout,
      ExecutorService executor, ActorRef<Outcome> parent) {
    super(ctx);
    this.lineage = lineage;
    this.checkpoints = checkpoints;
    this.snapshot = snapshot;
    this.metrics = metrics;
    this.exportDir = exportDir;
    this.trainers = Map.copyOf(trainers);
    this.timeout = timeout;
    this.executor = executor;
    this.parent = parent;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Began.class, this::onBegan)
        .onMessage(PartAnswer.class, this::onPart)
        .onMessage(RunPartWritten.class, this::onRunPart)
        .onMessage(CommitDone.class, this::onCommitted)
        .build();
  }

  private Behavior<Command> onBegan(Began b) {
    if (b.error() != null) {
      return fail("cannot start checkpoint " + snapshot.tag() + ": " + RoleErrors.oneLine(b.error()));
    }
    staging = b.staging();
    askParts(staging);
    Path dir = staging;
    CompletableFuture<String> written = CompletableFuture.supplyAsync(() -> snapshot.write(dir, metrics), executor);
    getContext().pipeToSelf(written, RunPartWritten::new);
    return this;
  }

  private void askParts(Path dir) {
    RequestId id = RequestId.of(lineage, snapshot.iteration(), RequestId.Kind.CHECKPOINT);
    trainers.forEach((role, ref) -> getContext().ask(CheckpointReply.class, ref, timeout,
        replyTo -> new CheckpointRequest(id, snapshot.iteration(), snapshot.policyVersion(), dir.toString(),
            exportDir != null, replyTo),
        (reply, error) -> new PartAnswer(role, reply, error)));
  }

  private Behavior<Command> onPart(PartAnswer a) {
    if (a.error() != null) {
      return fail("the " + a.role() + " role did not write its part within " + timeout.toSeconds() + " s: "
          + RoleErrors.oneLine(a.error()));
    }
    if (a.reply() instanceof CheckpointFailed f) {
      return fail("the " + f.role() + " role could not write its part: " + f.reason());
    }
    CheckpointSaved s = (CheckpointSaved) a.reply();
    saved.put(a.role(), true);
    if (exportDir == null) {
      partShas.put(a.role().label(), s.manifestSha256());
    }
    return commitIfComplete();
  }

  private Behavior<Command> onRunPart(RunPartWritten w) {
    if (w.error() != null) {
      return fail("cannot write the run state of " + snapshot.tag() + ": " + RoleErrors.oneLine(w.error()));
    }
    partShas.put(RunSnapshot.PART, w.sha());
    return commitIfComplete();
  }

  private Behavior<Command> commitIfComplete() {
    if (saved.size() < trainers.size()) {
      return this;
    }
    if (exportDir != null) {
      parent.tell(new Committed(lineage, snapshot.iteration(), true, exportDir));
      return Behaviors.stopped();
    }
    if (!partShas.containsKey(RunSnapshot.PART)) {
      return this;
    }
    Map<String, String> shas = Map.copyOf(partShas);
    CompletableFuture<Path> committed = CompletableFuture.supplyAsync(
        () -> checkpoints.commit(staging, snapshot.tag(), snapshot.iteration(), shas), executor);
    getContext().pipeToSelf(committed, CommitDone::new);
    return this;
  }

  private Behavior<Command> onCommitted(CommitDone c) {
    if (c.error() != null) {
      return fail("cannot commit checkpoint " + snapshot.tag() + ": " + RoleErrors.oneLine(c.error()));
    }
    parent.tell(new Committed(lineage, snapshot.iteration(), false, c.dir()));
    return Behaviors.stopped();
  }

  private Behavior<Command> fail(String error) {
    if (staging != null) {
      Path dir = staging;
      executor.execute(() -> checkpoints.abort(dir));
    }
    parent.tell(new Failed(lineage, snapshot.iteration(), exportDir != null, error));
    return Behaviors.stopped();
  }
}
