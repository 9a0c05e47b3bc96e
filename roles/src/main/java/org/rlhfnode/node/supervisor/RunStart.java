package org.rlhfnode.node.supervisor;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.rlhfnode.messages.RoleStatus;
import org.rlhfnode.messages.StatusQuery;
import org.rlhfnode.node.actor.RoleErrors;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;

/**
 * A short-lived child of the {@link Supervisor} that finds out where the run starts: it asks the live
 * stateful roles and rollout engines which run they belong to (a census; an instance that does not
 * answer within {@link #CENSUS_TIMEOUT} is left out), then reads the checkpoints off the actor thread and
 * applies {@link StartDecision}. Skips the census when the run is already known (a recovery). Answers its
 * parent once and stops.
 */
final class RunStart extends AbstractBehavior<RunStart.Command> {
  static final Duration CENSUS_TIMEOUT = Duration.ofSeconds(10);

  /** The child's mailbox. */
  sealed interface Command permits Status, CensusOver, Decided {}

  /** What the child tells its parent. */
  sealed interface Outcome permits Ready, Refused {}

  /** Restore from {@code plan}. */
  record Ready(StartDecision.Plan plan) implements Outcome {}

  /** The run must not start: {@code error} is one line. */
  record Refused(String error, int exitCode) implements Outcome {}

  private record Status(RoleStatus status) implements Command {}

  private enum CensusOver implements Command { INSTANCE }

  private record Decided(Outcome outcome) implements Command {}

  private final String knownRunId;
  private final boolean loadCheckpoint;
  private final RunCheckpoints checkpoints;
  private final Map<String, String> settings;
  private final ExecutorService executor;
  private final ActorRef<Outcome> parent;
  private final Set<String> runIds = new TreeSet<>();
  private int unanswered;
  private boolean deciding;

  /**
   * @param knownRunId the run being recovered, or "" to ask the roles
   * @param census the instances to ask
   * @param timeout role_timeout_s: the census waits at most this or {@link #CENSUS_TIMEOUT}, the shorter
   */
  static Behavior<Command> create(String knownRunId, boolean loadCheckpoint, List<ActorRef<StatusQuery>> census,
      Duration timeout, RunCheckpoints checkpoints, Map<String, String> settings, ExecutorService executor,
      ActorRef<Outcome> parent) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      RunStart start = new RunStart(ctx, knownRunId, loadCheckpoint, checkpoints, settings, executor, parent);
      if (knownRunId.isEmpty() && !census.isEmpty()) {
        ActorRef<RoleStatus> replies = ctx.messageAdapter(RoleStatus.class, Status::new);
        census.forEach(r -> r.tell(new StatusQuery(replies)));
        start.unanswered = census.size();
        timers.startSingleTimer(CensusOver.INSTANCE, timeout.compareTo(CENSUS_TIMEOUT) < 0 ? timeout : CENSUS_TIMEOUT);
      } else {
        start.decide();
      }
      return start;
    }));
  }

  private RunStart(ActorContext<Command> ctx, String knownRunId, boolean loadCheckpoint, RunCheckpoints checkpoints,
      Map<String, String> settings, ExecutorService executor, ActorRef<Outcome> parent) {
    super(ctx);
    this.knownRunId = knownRunId;
    this.loadCheckpoint = loadCheckpoint;
    this.checkpoints = checkpoints;
    this.settings = settings;
    this.executor = executor;
    this.parent = parent;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Status.class, this::onStatus)
        .onMessage(CensusOver.class, c -> onCensusOver())
        .onMessage(Decided.class, this::onDecided)
        .build();
  }

  private Behavior<Command> onStatus(Status s) {
    if (!s.status().runId().isEmpty()) {
      runIds.add(s.status().runId());
    }
    if (--unanswered == 0) {
      decide();
    }
    return this;
  }

  private Behavior<Command> onCensusOver() {
    if (!deciding) {
      getContext().getLog().warn("{} role instance(s) did not say which run they belong to in time", unanswered);
      decide();
    }
    return this;
  }

  private void decide() {
    if (deciding) {
      return;
    }
    deciding = true;
    if (runIds.size() > 1) {
      getContext().getSelf().tell(new Decided(new Refused("the cluster's roles belong to different runs " + runIds
          + "; start the nodes of one run only", 2)));
      return;
    }
    String clusterRunId = runIds.stream().findFirst().orElse("");
    CompletableFuture<Outcome> decided = CompletableFuture.supplyAsync(() -> new Ready(knownRunId.isEmpty()
        ? StartDecision.decide(clusterRunId, loadCheckpoint, checkpoints, settings)
        : StartDecision.recover(knownRunId, checkpoints, settings)), executor);
    getContext().pipeToSelf(decided, (ok, error) -> new Decided(ok != null ? ok
        : error.getCause() instanceof StartDecision.Refused r ? new Refused(r.getMessage(), 2)
        : new Refused("cannot read the checkpoints under " + checkpoints.root() + ": " + RoleErrors.oneLine(error), 1)));
  }

  private Behavior<Command> onDecided(Decided d) {
    parent.tell(d.outcome());
    return Behaviors.stopped();
  }
}
