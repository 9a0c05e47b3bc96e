package org.rlhfnode.node.role;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.RankCommand;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.PpoUpdater;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.transport.GlooGroup;
import org.rlhfnode.runtime.transport.RendezvousSecret;
import org.rlhfnode.runtime.transport.RankGang;
import org.rlhfnode.runtime.transport.RankGroup;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * What a {@link TrainerRole} trains: the policy (scores lp_old, minimises the clipped surrogate,
 * counts weight versions, publishes weights) or the critic (scores V_old, minimises the value loss).
 * Both train in float32 master weights on their device with their own AdamW (algorithms.md §8).
 *
 * <p>Its ranks are threads of this JVM over the node's device group ({@code *_num_gpus_per_node}) and,
 * when it spans several nodes ({@code *_num_nodes}), also the ranks of the other nodes ({@link
 * #withNodes}): then this node leads, hosts the group's c10d store, and sends each other node every
 * task ({@link RemoteRanks}, {@link RankFollower} on their side), so that all ranks make the same calls.
 */
public final class Learner {
  /** Bound on forming a trainer's rank group and on each of its collectives. */
  private static final java.time.Duration GANG_TIMEOUT = java.time.Duration.ofMinutes(30);
  private static final SecureRandom EPOCHS = new SecureRandom();

  /** The other nodes of a trainer over several nodes, and how to reach them. */
  private record Nodes(List<ActorRef<RankCommand>> others, String storeHost, Scheduler scheduler) {}

  private final boolean policy;
  private final PpoSettings settings;
  private final Nodes nodes; // null: this node's ranks only
  private final AtomicReference<RemoteRanks> group = new AtomicReference<>();

  private Learner(boolean policy, PpoSettings settings, Nodes nodes) {
    this.policy = policy;
    this.settings = settings;
    this.nodes = nodes;
  }

  /** The policy trainer, starting from {@code pretrain}. */
  public static Learner policy(PpoSettings s) {
    return new Learner(true, s, null);
  }

  /** The critic, starting from {@code critic_pretrain} (a score head is added when it has none). */
  public static Learner critic(PpoSettings s) {
    return new Learner(false, s, null);
  }

  /**
   * This learner led from this node over its own ranks and those of {@code others} (their rank hosts, in
   * rank order), whose ranks reach this node's c10d store at {@code storeHost}.
   */
  Learner withNodes(List<ActorRef<RankCommand>> others, String storeHost, Scheduler scheduler) {
    return new Learner(policy, settings, new Nodes(List.copyOf(others), storeHost, scheduler));
  }

  /** {@link Role#POLICY} or {@link Role#CRITIC}. */
  public Role role() {
    return policy ? Role.POLICY : Role.CRITIC;
  }

  DeviceSpec device() {
    return policy ? settings.devices().actor() : settings.devices().critic();
  }

  /** Whether train steps advance the policy weight version. */
  boolean countsVersions() {
    return policy;
  }

  /** The devices of this node's ranks of this learner. */
  List<DeviceSpec> rankDevices() {
    return policy ? settings.scale().actorRanks() : settings.scale().criticRanks();
  }

  /** Whether this learner leads ranks on other nodes too. */
  boolean spansNodes() {
    return nodes != null;
  }

  /** How many nodes this learner's ranks span (the setting, whether or not they have gathered). */
  public int nodeCount() {
    return policy ? settings.scale().actorNodes() : settings.scale().criticNodes();
  }

  /**
   * Starts the learner's ranks (threads of this JVM over its device group, and those of the other nodes
   * when it spans several, told to join through {@code lead}'s messages) and loads the model, its update
   * and its updater on each; blocks until they are ready.
   */
  Loaded load(ActorRef<TrainerCommand> lead) {
    List<DeviceSpec> devices = rankDevices();
    String name = role().label() + "-ranks";
    if (nodes == null) {
      RankGang gang = devices.size() > 1 && devices.get(0).cuda()
          ? RankGang.cuda(devices.stream().map(DeviceSpec::index).toList(), GANG_TIMEOUT, name)
          : RankGang.cpu(devices.size(), GANG_TIMEOUT, name); // one device: one thread, no group
      return open(gang, null);
    }
    int perNode = devices.size();
    int world = perNode * (nodes.others().size() + 1);
    RemoteRanks remote = new RemoteRanks(nodes.others(), EPOCHS.nextLong() & Long.MAX_VALUE, nodes.scheduler(),
        GANG_TIMEOUT);
    GlooGroup.Host host = GlooGroup.Host.listen(nodes.storeHost(), 0, GANG_TIMEOUT);
    remote.onAbandon(host::close); // ranks still forming the group stop waiting for a node that is gone
    RemoteRanks old = group.getAndSet(remote);
    if (old != null) {
      old.abandon("formed again");
    }
    CompletableFuture<Void> joined = remote.start((epoch, seq, node, replyTo) -> new RankCommand.Join(epoch, seq,
        role(), host.host(), host.port(), host.secret().hex(), world, (node + 1) * perNode, lead, replyTo), List.of());
    RankGang gang = RankGang.spanning(RankGroup.Span.lead(host, world), perNode, GANG_TIMEOUT, name);
    Loaded loaded;
    try {
      loaded = open(gang, remote);
    } catch (RuntimeException e) {
      throw remote.explain(joined, e); // e.g. a node without the model: its error, not the failed rendezvous
    }
    try {
      remote.await(joined);
      return loaded;
    } catch (RuntimeException e) {
      loaded.close();
      throw e;
    }
  }

  /** This node's ranks of the group that {@code join} describes, led by another node. */
  Loaded follow(RankCommand.Join join) {
    if (join.role() != role()) {
      throw new IllegalArgumentException("asked to join a " + join.role() + " group; this node trains the " + role());
    }
    int perNode = rankDevices().size();
    if (join.firstRank() % perNode != 0 || join.worldSize() % perNode != 0) {
      throw new IllegalArgumentException("the lead node's group of " + join.worldSize() + " ranks gives this node "
          + "ranks from " + join.firstRank() + ", but this node has " + perNode + ": every node of the "
          + role().label() + " needs the same *_num_gpus_per_node");
    }
    RankGroup.Span span = RankGroup.Span.follower(join.storeHost(), join.storePort(),
        RendezvousSecret.ofHex(join.storeSecret()), join.worldSize(), join.firstRank());
    return open(RankGang.spanning(span, perNode, GANG_TIMEOUT, role().label() + "-ranks"), null);
  }

  private Loaded open(RankGang gang, RemoteRanks remote) {
    List<DeviceSpec> devices = rankDevices();
    try {
      return new Loaded(gang, gang.openEach(c -> LearnerRank.load(policy, settings, c, devices.get(gang.local(c)))),
          remote);
    } catch (RuntimeException e) {
      gang.close();
      throw e;
    }
  }

  /** Gives up the group over several nodes (a node was lost), so that a task waiting for it fails. Any thread. */
  void abandon(String why) {
    RemoteRanks g = group.get();
    if (g != null) {
      g.abandon(why);
    }
  }

  /** The numbers of an update as {@code TrainStepDone} carries them (NaN where a part did not run). */
  static Map<String, Double> metrics(PpoUpdater.Metrics m) {
    Map<String, Double> out = new LinkedHashMap<>();
    out.put("policy_loss", m.policyLoss());
    out.put("value_loss", m.valueLoss());
    out.put("clip_fraction", m.clipFraction());
    out.put("policy_kl", m.policyKl());
    out.put("entropy", m.entropy());
    out.put("kl_loss", m.klLoss());
    out.put("actor_grad_norm", m.actorGradNorm());
    out.put("critic_grad_norm", m.criticGradNorm());
    out.put("optimizer_steps", (double) m.optimizerSteps());
    return out;
  }

  /** The size of the files under {@code dir}. */
  static long bytesUnder(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    } catch (IOException e) {
      throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * A loaded model on every rank, with its update and updater: each method runs on all ranks
   * together (each rank on its own thread; on a lead, the other nodes' ranks too) and returns the first
   * rank's answer (global rank 0's on the lead; a following node's answers are not used).
   */
  final class Loaded implements AutoCloseable {
    private final RankGang gang;
    private final List<LearnerRank> ranks;
    private final RemoteRanks remote; // null: no other nodes, or this node follows

    Loaded(RankGang gang, List<LearnerRank> ranks, RemoteRanks remote) {
      this.gang = gang;
      this.ranks = ranks;
      this.remote = remote;
    }

    /**
     * Whether a task failed on one of several ranks, or the group over several nodes broke: the ranks have
     * ended and the model must be loaded again.
     */
    boolean broken() {
      return gang.broken() || (remote != null && remote.broken());
    }

    private LearnerRank rank(org.rlhfnode.runtime.dist.Collectives c) {
      return ranks.get(gang.local(c));
    }

    /** Runs {@code local} here and {@code task} (after {@code inputs}) on the other nodes; the first rank's answer. */
    private <T> T everywhere(RemoteRanks.TaskFactory task, List<? extends RankCommand> inputs, RankGang.Task<T> local) {
      if (remote == null) {
        return gang.first(local);
      }
      CompletableFuture<Void> others = remote.start(task, inputs);
      T mine;
      try {
        mine = gang.first(local);
      } catch (RuntimeException e) {
        throw remote.explain(others, e); // another node's own error rather than its effect here
      }
      remote.await(others);
      return mine;
    }

    /** lp_old (policy) or V_old (critic) of the request's rows, with the current weights. */
    TensorMap score(ScoreRequest r) {
      RolloutRows rows = WireArrays.rows(r.tensors());
      return everywhere((e, s, n, to) -> new RankCommand.Score(e, s, r.requestId(), to), List.of(r),
          c -> rank(c).score(rows));
    }

    /** One update per experience batch, in order; the actor is frozen for the first {@code freezing_actor_steps}. */
    PpoUpdater.Metrics train(List<ExperienceBatch> batches, long iteration) {
      List<Experience> experiences = batches.stream().map(b -> WireArrays.experience(b.tensors(), b.policyVersion()))
          .toList();
      List<org.rlhfnode.messages.RequestId> ids = batches.stream().map(ExperienceBatch::batchId).toList();
      return everywhere((e, s, n, to) -> new RankCommand.Train(e, s, ids, iteration, to), batches,
          c -> rank(c).train(experiences, iteration));
    }

    /** The current weights as a payload of version {@code version} (null on a following node). */
    WeightPayload payload(long version) {
      return everywhere((e, s, n, to) -> new RankCommand.Payload(e, s, version, to), List.of(),
          c -> rank(c).payload(version));
    }

    /** Saves the model as a HuggingFace directory (with the tokenizer files); returns the bytes written. */
    long export(Path dir) {
      return everywhere((e, s, n, to) -> new RankCommand.Export(e, s, dir.toString(), to), List.of(),
          c -> rank(c).export(dir));
    }

    /**
     * Writes this learner's part of checkpoint {@code tag} (after {@code iteration} iterations) into
     * {@code partDir}: the fp32 weights, the AdamW state, the update count that seeds the next shuffles
     * and the weight version; with {@code save_hf_ckpt} the policy also writes {@code hf/}. Returns the
     * SHA-256 of the part's manifest (empty on a following node). Ranks on several nodes need
     * {@code partDir} on a file system they share.
     */
    String writePart(Path partDir, String tag, long iteration, long version, String runId) {
      Object written = everywhere((e, s, n, to) -> new RankCommand.WritePart(e, s, partDir.toString(), tag, iteration,
          version, runId, to), List.of(), c -> rank(c).writePart(partDir, tag, iteration, version, runId));
      if (written instanceof LearnerRank.Failed f) {
        throw f.error();
      }
      return written == null ? "" : (String) written;
    }

    /**
     * Puts the state of the part in {@code partDir} back (verified against its manifest) and returns its
     * weight version.
     *
     * @throws org.rlhfnode.runtime.io.CheckpointFormatException the part is damaged (names the file)
     * @throws IllegalArgumentException the part is of another role or model (names the file and tensor)
     */
    long restore(Path partDir) {
      return everywhere((e, s, n, to) -> new RankCommand.Restore(e, s, partDir.toString(), to), List.of(),
          c -> rank(c).restore(partDir));
    }

    @Override
    public void close() {
      try {
        gang.closeEach(ranks);
      } finally {
        gang.close();
      }
    }
  }
}
