package org.rlhfnode.node.supervisor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.RestoreFailed;
import org.rlhfnode.messages.RestoreReply;
import org.rlhfnode.messages.RestoreState;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RollBack;
import org.rlhfnode.messages.RolledBack;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.StateRestored;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.node.actor.RoleErrors;

/**
 * A short-lived child of the {@link Supervisor} that puts the run's state back: every stateful role
 * restores its part of a checkpoint (or the initial state) and every rollout engine rolls back, so that
 * the trainer's next publish of the restored version is installed everywhere. Checkpoints are tried
 * newest first: one whose part a role reports corrupt is skipped with a warning, and the next one is
 * tried; a part of another model, any other failure or silence within the timeout ends the attempt.
 * Answers once ({@link Restored} or {@link Failed}) and stops.
 */
final class RestoreRun extends AbstractBehavior<RestoreRun.Command> {

  /** The child's mailbox. */
  sealed interface Command permits RoleAnswer, EngineAnswer {}

  /** What the child tells its parent. */
  sealed interface Outcome permits Restored, Failed {}

  /** Restored from {@code candidate} (null: the initial state); the policy holds {@code policyVersion}. */
  record Restored(long lineage, StartDecision.Candidate candidate, long policyVersion) implements Outcome {}

  /** Nothing could be restored; {@code exitCode} 2 for bad input (no usable or a foreign checkpoint), else 1. */
  record Failed(long lineage, String error, int exitCode) implements Outcome {}

  private record RoleAnswer(int attempt, Role role, RestoreReply reply, Throwable error) implements Command {}

  private record EngineAnswer(int attempt, Throwable error) implements Command {}

  /**
   * A live engine answers a {@link RollBack} from its actor thread at once; one that does not within this
   * is lost (it will be caught up if it comes back), and the restore goes on without it.
   */
  static final Duration ENGINE_TIMEOUT = Duration.ofSeconds(10);

  private final String runId;
  private final long lineage;
  private final List<StartDecision.Candidate> candidates;
  private final Map<Role, ActorRef<TrainerCommand>> trainers;
  private final List<ActorRef<RolloutCommand>> engines;
  private final Duration timeout;
  private final ActorRef<Outcome> parent;
  private final List<String> skipped = new ArrayList<>();
  private final Map<Role, Long> restored = new EnumMap<>(Role.class);
  private int attempt = -1;
  private int enginesPending;

  /**
   * @param candidates checkpoints newest first; empty restores the initial state
   * @param trainers the stateful roles' instances (policy, and the critic when the run has one)
   */
  static Behavior<Command> create(String runId, long lineage, List<StartDecision.Candidate> candidates,
      Map<Role, ActorRef<TrainerCommand>> trainers, List<ActorRef<RolloutCommand>> engines, Duration timeout,
      ActorRef<Outcome> parent) {
    return Behaviors.setup(ctx -> new RestoreRun(ctx, runId, lineage, candidates, trainers, engines, timeout, parent)
        .next());
  }

  private RestoreRun(ActorContext<Command> ctx, String runId, long lineage, List<StartDecision.Candidate> candidates,
      Map<Role, ActorRef<TrainerCommand>> trainers, List<ActorRef<RolloutCommand>> engines, Duration timeout,
      ActorRef<Outcome> parent) {
    super(ctx);
    this.runId = runId;
    this.lineage = lineage;
    this.candidates = List.copyOf(candidates);
    this.trainers = Map.copyOf(trainers);
    this.engines = List.copyOf(engines);
    this.timeout = timeout;
    this.parent = parent;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(RoleAnswer.class, this::onRole)
        .onMessage(EngineAnswer.class, this::onEngine)
        .build();
  }

  private StartDecision.Candidate current() {
    return candidates.isEmpty() ? null : candidates.get(attempt);
  }

  /** Starts the next attempt, or fails when no candidate is left. */
  private Behavior<Command> next() {
    attempt++;
    if (!candidates.isEmpty() && attempt >= candidates.size()) {
      return fail("no usable checkpoint: " + String.join("; ", skipped), 2);
    }
    StartDecision.Candidate c = current();
    int iteration = c == null ? 0 : c.snapshot().iteration();
    long version = c == null ? 0 : c.snapshot().policyVersion();
    RequestId id = RequestId.of(lineage, iteration, RequestId.Kind.RESTORE);
    restored.clear();
    int at = attempt;
    trainers.forEach((role, ref) -> {
      String part = c == null ? "" : c.dir().resolve(role.label()).toString();
      getContext().ask(RestoreReply.class, ref, timeout, replyTo -> new RestoreState(id, runId, part, replyTo),
          (reply, error) -> new RoleAnswer(at, role, reply, error));
    });
    enginesPending = engines.size();
    Duration engineTimeout = timeout.compareTo(ENGINE_TIMEOUT) < 0 ? timeout : ENGINE_TIMEOUT;
    for (ActorRef<RolloutCommand> engine : engines) {
      getContext().ask(RolledBack.class, engine, engineTimeout, replyTo -> new RollBack(id, runId, version, replyTo),
          (reply, error) -> new EngineAnswer(at, error));
    }
    getContext().getLog().info("restoring {} (run {}, lineage {})", c == null ? "the initial state" : c.dir(), runId,
        lineage);
    return this;
  }

  private Behavior<Command> onRole(RoleAnswer a) {
    if (a.attempt() != attempt) {
      return this;
    }
    if (a.error() != null) {
      return fail("the " + a.role() + " role did not restore within " + timeout.toSeconds() + " s: "
          + RoleErrors.oneLine(a.error()), 1);
    }
    if (a.reply() instanceof RestoreFailed f) {
      if (f.cause() == RestoreFailed.Cause.CORRUPT && current() != null) {
        getContext().getLog().warn("checkpoint {} is unusable ({}: {}); falling back to the previous one",
            current().dir(), f.role(), f.reason());
        skipped.add(current().dir().getFileName() + " (" + f.reason() + ")");
        return next();
      }
      return fail(f.role() + ": " + f.reason(), f.cause() == RestoreFailed.Cause.ERROR ? 1 : 2);
    }
    restored.put(a.role(), ((StateRestored) a.reply()).policyVersion());
    return finishIfDone();
  }

  private Behavior<Command> onEngine(EngineAnswer a) {
    if (a.attempt() != attempt) {
      return this;
    }
    if (a.error() != null) {
      getContext().getLog().warn("a rollout engine did not roll back: {}", RoleErrors.oneLine(a.error()));
    }
    enginesPending--;
    return finishIfDone();
  }

  private Behavior<Command> finishIfDone() {
    if (restored.size() < trainers.size() || enginesPending > 0) {
      return this;
    }
    long version = restored.get(Role.POLICY);
    StartDecision.Candidate c = current();
    if (c != null && version != c.snapshot().policyVersion()) {
      return fail(c.dir().resolve(Role.POLICY.label()) + ": holds weight version " + version + ", the run state says "
          + c.snapshot().policyVersion(), 2);
    }
    parent.tell(new Restored(lineage, c, version));
    return Behaviors.stopped();
  }

  private Behavior<Command> fail(String error, int exitCode) {
    parent.tell(new Failed(lineage, error, exitCode));
    return Behaviors.stopped();
  }
}
