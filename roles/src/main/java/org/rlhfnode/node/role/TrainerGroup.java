package org.rlhfnode.node.role;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.rlhfnode.messages.RankCommand;
import org.rlhfnode.messages.TrainerCommand;

/**
 * One node of a trainer (policy or critic) whose ranks span {@code nodes} nodes. Every such node runs a
 * {@link RankFollower} registered under the role's rank key; the nodes agree on a lead from the key's
 * listing alone: the first by address among the reachable ones. When it sees {@code nodes} of them, the
 * lead starts the role's {@link TrainerRole} over its own ranks and the next {@code nodes − 1} nodes' and
 * registers it under the role's key, so the supervisor sees one trainer. When one of those nodes leaves
 * the listing (lost), the lead stops that trainer (its followers leave the group) and the supervisor sees
 * the role lost; once {@code nodes} are listed again (a node restarted) a new trainer starts and the
 * supervisor restores it from the last checkpoint, as for any lost trainer. Spare nodes wait.
 */
public final class TrainerGroup {
  private TrainerGroup() {}

  /** What the group's node actor handles: only its own listing updates and its trainer's end. */
  public interface Command {}

  private record Listed(Receptionist.Listing listing) implements Command {}

  private record TrainerEnded(ActorRef<TrainerCommand> trainer) implements Command {}

  /**
   * @param learner what the nodes train; the lead's gets the other nodes ({@link Learner#withNodes})
   * @param rankKey the key of this role's rank hosts
   * @param roleKey the key under which the lead registers the trainer for the supervisor
   * @param trainer the trainer behaviour for a learner
   */
  public static Behavior<Command> create(Learner learner, ServiceKey<RankCommand> rankKey,
      ServiceKey<TrainerCommand> roleKey, Function<Learner, Behavior<TrainerCommand>> trainer) {
    return Behaviors.<Command>setup(ctx -> {
      ActorRef<RankCommand> mine = ctx.spawn(RankFollower.create(learner), "ranks");
      ctx.getSystem().receptionist().tell(Receptionist.register(rankKey, mine));
      ctx.getSystem().receptionist().tell(Receptionist.subscribe(rankKey,
          ctx.messageAdapter(Receptionist.Listing.class, Listed::new)));
      return new State(ctx, learner, rankKey, roleKey, trainer, mine).behavior();
    });
  }

  private static final class State {
    private final ActorContext<Command> ctx;
    private final Learner learner;
    private final ServiceKey<RankCommand> rankKey;
    private final ServiceKey<TrainerCommand> roleKey;
    private final Function<Learner, Behavior<TrainerCommand>> trainer;
    private final ActorRef<RankCommand> mine;
    private final ActorRefResolver resolver;
    private List<ActorRef<RankCommand>> hosts = List.of();
    private ActorRef<TrainerCommand> running;
    private List<ActorRef<RankCommand>> runningOn = List.of();
    private int generation;

    State(ActorContext<Command> ctx, Learner learner, ServiceKey<RankCommand> rankKey,
        ServiceKey<TrainerCommand> roleKey, Function<Learner, Behavior<TrainerCommand>> trainer,
        ActorRef<RankCommand> mine) {
      this.ctx = ctx;
      this.learner = learner;
      this.rankKey = rankKey;
      this.roleKey = roleKey;
      this.trainer = trainer;
      this.mine = mine;
      this.resolver = ActorRefResolver.get(ctx.getSystem());
    }

    Behavior<Command> behavior() {
      return Behaviors.receive(Command.class)
          .onMessage(Listed.class, l -> {
            hosts = sorted(l.listing());
            decide();
            return Behaviors.same();
          })
          .onMessage(TrainerEnded.class, t -> {
            if (t.trainer().equals(running)) {
              running = null;
              runningOn = List.of();
              decide();
            }
            return Behaviors.same();
          })
          .build();
    }

    /** The reachable rank hosts, ordered by full address (the same order on every node). */
    private List<ActorRef<RankCommand>> sorted(Receptionist.Listing listing) {
      List<ActorRef<RankCommand>> out = new ArrayList<>(listing.getServiceInstances(rankKey));
      out.sort(Comparator.comparing(resolver::toSerializationFormat));
      return out;
    }

    private void decide() {
      int nodes = learner.nodeCount();
      if (running != null) {
        if (hosts.containsAll(runningOn)) {
          return;
        }
        ctx.getLog().warn("{}: a node of the trainer's group is gone; the trainer over {} nodes stops and starts again "
            + "from the last checkpoint once {} nodes are back", learner.role(), nodes, nodes);
        ctx.stop(running); // its PostStop gives the group up; its followers see it end and leave
        running = null;
        runningOn = List.of();
      }
      if (hosts.isEmpty() || !hosts.get(0).equals(mine)) {
        return; // another node leads (or will)
      }
      if (hosts.size() < nodes) {
        ctx.getLog().info("{}: {} of {} nodes of the trainer's group are here; waiting for the others", learner.role(),
            hosts.size(), nodes);
        return;
      }
      List<ActorRef<RankCommand>> others = List.copyOf(hosts.subList(1, nodes));
      String host = ctx.getSystem().address().getHost().orElse("127.0.0.1");
      Learner led = learner.withNodes(others, host, ctx.getSystem().scheduler());
      running = ctx.spawn(trainer.apply(led), learner.role().label() + "-" + (++generation));
      runningOn = new ArrayList<>(hosts.subList(0, nodes));
      ctx.watchWith(running, new TrainerEnded(running));
      ctx.getSystem().receptionist().tell(Receptionist.register(roleKey, running));
      ctx.getLog().info("{}: this node leads the trainer over {} nodes ({} ranks each)", learner.role(), nodes,
          learner.rankDevices().size());
    }
  }
}
