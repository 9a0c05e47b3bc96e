package org.rlhfnode.messages;

import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Lead trainer node → the other nodes of a trainer (policy or critic) whose ranks span several nodes
 * ({@code --actor_num_nodes}, {@code --critic_num_nodes}). The supervisor sees one logical role: the lead
 * node's trainer. That trainer forms the group with a {@link Join} (the rendezvous: where its c10d store
 * listens, the group size and the node's first rank), and then, for every piece of model work it does,
 * sends each other node the same {@link Task} in the same order, so that all ranks make the same collective
 * calls. Tensors travel in the role's own messages ({@link ExperienceBatch}, {@link ScoreRequest}), sent
 * just before the task that names them by id: they share the ordinary Artery lane, which keeps the order.
 * Every task is answered with a {@link RankTaskDone}. A task of another {@code epoch} (an older group) is
 * refused; a node leaves its group when the lead's trainer stops (it watches {@code lead}).
 */
public sealed interface RankCommand extends WireMessage permits RankCommand.Task, ExperienceBatch,
    ScoreRequest, RankCommand.Local {

  /** A rank host's private message; local to its JVM. */
  non-sealed interface Local extends RankCommand {}

  /** What every task carries: the group it belongs to, its place in the lead's order, where to answer. */
  sealed interface Task extends RankCommand permits Join, Score, Train, Payload, Export, WritePart, Restore {
    long epoch();

    long seq();

    ActorRef<RankTaskDone> replyTo();
  }

  /**
   * Form group {@code epoch}: join the c10d store at {@code storeHost:storePort} with this node's ranks
   * {@code firstRank}.. of {@code worldSize}, proving {@code storeSecret} (the group's rendezvous
   * secret: 256 random bits as hex) there, load the {@code role}'s model on each, and answer once loaded.
   * Leaves any earlier group first. {@link #toString()} hides the secret.
   */
  record Join(long epoch, long seq, Role role, String storeHost, int storePort, String storeSecret, int worldSize,
      int firstRank, ActorRef<TrainerCommand> lead, ActorRef<RankTaskDone> replyTo) implements Task {
    public Join {
      Checks.notNull(role, "RankCommand.Join", "role");
      Checks.nonBlank(storeHost, "RankCommand.Join", "storeHost");
      if (storePort < 1 || storePort > 65_535) {
        throw new IllegalArgumentException("RankCommand.Join.storePort " + storePort + " is not a TCP port");
      }
      Checks.rendezvousSecret(storeSecret, "RankCommand.Join");
      if (firstRank < 1 || firstRank >= worldSize) {
        throw new IllegalArgumentException("RankCommand.Join.firstRank " + firstRank + " is outside [1, "
            + worldSize + ")");
      }
      Checks.notNull(lead, "RankCommand.Join", "lead");
      Checks.notNull(replyTo, "RankCommand.Join", "replyTo");
    }

    @Override
    public String toString() {
      return "Join[epoch=" + epoch + ", seq=" + seq + ", role=" + role + ", store=" + storeHost + ":" + storePort
          + ", storeSecret=(hidden), worldSize=" + worldSize + ", firstRank=" + firstRank + ", lead=" + lead
          + ", replyTo=" + replyTo + "]";
    }
  }

  /** Score the rows of the {@link ScoreRequest} {@code requestId} sent just before (lp_old or V_old). */
  record Score(long epoch, long seq, RequestId requestId, ActorRef<RankTaskDone> replyTo) implements Task {
    public Score {
      Checks.notNull(requestId, "RankCommand.Score", "requestId");
      Checks.notNull(replyTo, "RankCommand.Score", "replyTo");
    }
  }

  /** Train on the {@link ExperienceBatch}es {@code batchIds} sent just before, in this order. */
  record Train(long epoch, long seq, List<RequestId> batchIds, long iteration, ActorRef<RankTaskDone> replyTo)
      implements Task {
    public Train {
      Checks.notNull(batchIds, "RankCommand.Train", "batchIds");
      batchIds = List.copyOf(batchIds);
      Checks.nonNegative(iteration, "RankCommand.Train", "iteration");
      Checks.notNull(replyTo, "RankCommand.Train", "replyTo");
    }
  }

  /** Help assemble the weights the lead publishes as version {@code version} (ZeRO-3 gathers). */
  record Payload(long epoch, long seq, long version, ActorRef<RankTaskDone> replyTo) implements Task {
    public Payload {
      Checks.notNull(replyTo, "RankCommand.Payload", "replyTo");
    }
  }

  /** Help export the model as a HuggingFace directory {@code directory} (the lead writes it). */
  record Export(long epoch, long seq, String directory, ActorRef<RankTaskDone> replyTo) implements Task {
    public Export {
      Checks.nonBlank(directory, "RankCommand.Export", "directory");
      Checks.notNull(replyTo, "RankCommand.Export", "replyTo");
    }
  }

  /** Write this node's ranks' share of checkpoint part {@code directory} (see the trainer's writePart). */
  record WritePart(long epoch, long seq, String directory, String tag, long iteration, long version, String runId,
      ActorRef<RankTaskDone> replyTo) implements Task {
    public WritePart {
      Checks.nonBlank(directory, "RankCommand.WritePart", "directory");
      Checks.nonBlank(tag, "RankCommand.WritePart", "tag");
      Checks.notNull(runId, "RankCommand.WritePart", "runId");
      Checks.notNull(replyTo, "RankCommand.WritePart", "replyTo");
    }
  }

  /** Put this node's ranks' state back from checkpoint part {@code directory}. */
  record Restore(long epoch, long seq, String directory, ActorRef<RankTaskDone> replyTo) implements Task {
    public Restore {
      Checks.nonBlank(directory, "RankCommand.Restore", "directory");
      Checks.notNull(replyTo, "RankCommand.Restore", "replyTo");
    }
  }
}
