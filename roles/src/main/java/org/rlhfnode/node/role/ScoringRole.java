package org.rlhfnode.node.role;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RoleStatus;
import org.rlhfnode.messages.ScoreFailed;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.ScorerCommand;
import org.rlhfnode.messages.StatusQuery;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.node.actor.RoleErrors;
import org.rlhfnode.node.actor.RoleExecutor;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;

/**
 * A frozen scoring role — the reference (lp_ref) or the reward (sequence scores): it loads its models
 * once on its own thread, then answers each {@link ScoreRequest} with a {@link ScoredExperience}, or a
 * {@link ScoreFailed} naming what went wrong. Requests queue behind the load and behind each other on
 * that thread; the actor itself never blocks.
 */
public final class ScoringRole extends AbstractBehavior<ScorerCommand> {

  /** What the role computes for a rollout's rows; loaded and run on the role's thread. */
  public interface Scoring extends AutoCloseable {
    /**
     * Named tensors with the batch first (e.g. {@code ref_log_probs} [B, T] or {@code scores} [B]).
     *
     * @param labels each row's label ({@link ScoreRequest#labels()}), or empty when the request has none
     */
    TensorMap score(RolloutRows rows, java.util.List<String> labels);

    @Override
    void close();
  }

  private record Scored(ScoreRequest request, TensorMap result, Throwable error) implements ScorerCommand.Local {}

  private final Role role;
  private final String device;
  private final ExecutorService executor;
  private final CompletableFuture<Scoring> scoring;
  private int inFlight;

  /**
   * @param role the role it is (reference or reward), named in replies and logs
   * @param device the device group, for status replies
   * @param loader builds the scoring (loads models); runs on the role's thread
   */
  public static Behavior<ScorerCommand> create(Role role, String device, Supplier<Scoring> loader) {
    return Behaviors.setup(ctx -> new ScoringRole(ctx, role, device, loader));
  }

  private ScoringRole(ActorContext<ScorerCommand> ctx, Role role, String device, Supplier<Scoring> loader) {
    super(ctx);
    this.role = role;
    this.device = device;
    this.executor = RoleExecutor.create(role.label() + "-" + ctx.getSelf().path().name());
    this.scoring = CompletableFuture.supplyAsync(loader, executor);
  }

  @Override
  public Receive<ScorerCommand> createReceive() {
    return newReceiveBuilder()
        .onMessage(ScoreRequest.class, this::onScore)
        .onMessage(Scored.class, this::onScored)
        .onMessage(StatusQuery.class, this::onStatus)
        .onSignal(PostStop.class, s -> onStop())
        .build();
  }

  private Behavior<ScorerCommand> onScore(ScoreRequest request) {
    inFlight++;
    CompletableFuture<TensorMap> result =
        scoring.thenApplyAsync(s -> s.score(WireArrays.rows(request.tensors()), request.labels()), executor);
    getContext().pipeToSelf(result, (map, error) -> new Scored(request, map, error));
    return this;
  }

  private Behavior<ScorerCommand> onScored(Scored done) {
    inFlight--;
    ScoreRequest r = done.request();
    if (done.error() != null) {
      Throwable cause = done.error().getCause() != null ? done.error().getCause() : done.error();
      RoleErrors.warn(getContext().getLog(), role + ": scoring " + r.requestId() + " failed", cause);
      r.replyTo().tell(new ScoreFailed(r.requestId(), role, RoleErrors.oneLine(cause)));
    } else {
      r.replyTo().tell(new ScoredExperience(r.requestId(), r.policyVersion(), role, done.result()));
    }
    return this;
  }

  private Behavior<ScorerCommand> onStatus(StatusQuery q) {
    RoleStatus.State state = !scoring.isDone() ? RoleStatus.State.STARTING
        : scoring.isCompletedExceptionally() ? RoleStatus.State.FAILED
        : inFlight > 0 ? RoleStatus.State.BUSY : RoleStatus.State.IDLE;
    String detail = scoring.isCompletedExceptionally() ? RoleErrors.oneLine(scoring.handle((s, e) -> e).join()) : "";
    q.replyTo().tell(new RoleStatus(role, getContext().getSelf().path().name(), state, 0, device, inFlight, detail,
        ""));
    return this;
  }

  private Behavior<ScorerCommand> onStop() {
    scoring.thenAcceptAsync(Scoring::close, executor);
    executor.shutdown();
    return this;
  }
}
