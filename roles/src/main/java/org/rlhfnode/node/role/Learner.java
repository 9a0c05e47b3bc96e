package org.rlhfnode.node.role;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.PpoUpdater;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.transport.RankGang;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * What a {@link TrainerRole} trains: the policy (scores lp_old, minimises the clipped surrogate,
 * counts weight versions, publishes weights) or the critic (scores V_old, minimises the value loss).
 * Both train in float32 master weights on their device with their own AdamW (algorithms.md §8).
 */
public final class Learner {
  /** Bound on forming a trainer's rank group and on each of its collectives. */
  private static final java.time.Duration GANG_TIMEOUT = java.time.Duration.ofMinutes(30);
  private final boolean policy;
  private final PpoSettings settings;

  private Learner(boolean policy, PpoSettings settings) {
    this.policy = policy;
    this.settings = settings;
  }

  /** The policy trainer, starting from {@code pretrain}. */
  public static Learner policy(PpoSettings s) {
    return new Learner(true, s);
  }

  /** The critic, starting from {@code critic_pretrain} (a score head is added when it has none). */
  public static Learner critic(PpoSettings s) {
    return new Learner(false, s);
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

  /** The devices of this learner's ranks. */
  List<DeviceSpec> rankDevices() {
    return policy ? settings.scale().actorRanks() : settings.scale().criticRanks();
  }

  /**
   * Starts the learner's ranks (threads of this JVM over its device group) and loads the model,
   * its update and its updater on each; blocks until they are ready.
   */
  Loaded load() {
    List<DeviceSpec> devices = rankDevices();
    String name = role().label() + "-ranks";
    RankGang gang = devices.size() > 1 && devices.get(0).cuda()
        ? RankGang.cuda(devices.stream().map(DeviceSpec::index).toList(), GANG_TIMEOUT, name)
        : RankGang.cpu(devices.size(), GANG_TIMEOUT, name); // one device: one thread, no group
    try {
      return new Loaded(gang, gang.openEach(c -> LearnerRank.load(policy, settings, c)));
    } catch (RuntimeException e) {
      gang.close();
      throw e;
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
   * together (each rank on its own thread) and returns rank 0's answer.
   */
  final class Loaded implements AutoCloseable {
    private final RankGang gang;
    private final List<LearnerRank> ranks;

    Loaded(RankGang gang, List<LearnerRank> ranks) {
      this.gang = gang;
      this.ranks = ranks;
    }

    /** Whether a task failed on one of several ranks: the ranks have ended and the model must be loaded again. */
    boolean broken() {
      return gang.broken();
    }

    /** lp_old (policy) or V_old (critic) of the rows, with the current weights. */
    TensorMap score(RolloutRows rows) {
      return gang.first(c -> ranks.get(c.rank()).score(rows));
    }

    /** One update per experience batch; the actor is frozen for the first {@code freezing_actor_steps}. */
    PpoUpdater.Metrics train(List<Experience> batches, long iteration) {
      return gang.first(c -> ranks.get(c.rank()).train(batches, iteration));
    }

    /** The current weights as a payload of version {@code version}. */
    WeightPayload payload(long version) {
      return gang.first(c -> ranks.get(c.rank()).payload(version));
    }

    /** Saves the model as a HuggingFace directory (with the tokenizer files); returns the bytes written. */
    long export(Path dir) {
      return gang.first(c -> ranks.get(c.rank()).export(dir));
    }

    /**
     * Writes this learner's part of checkpoint {@code tag} (after {@code iteration} iterations) into
     * {@code partDir}: the fp32 weights, the AdamW state (whole, as one rank holds it, so that any rank
     * count can resume), the update count that seeds the next shuffles and the weight version; with
     * {@code save_hf_ckpt} the policy also writes {@code hf/}. Rank 0 writes. Returns the SHA-256 of the
     * part's manifest.
     */
    String writePart(Path partDir, String tag, long iteration, long version, String runId) {
      Object written = gang.first(c -> ranks.get(c.rank()).writePart(partDir, tag, iteration, version, runId));
      if (written instanceof LearnerRank.Failed f) {
        throw f.error();
      }
      return (String) written;
    }

    /**
     * Puts the state of the part in {@code partDir} back (verified against its manifest) and returns its
     * weight version.
     *
     * @throws org.rlhfnode.runtime.io.CheckpointFormatException the part is damaged (names the file)
     * @throws IllegalArgumentException the part is of another role or model (names the file and tensor)
     */
    long restore(Path partDir) {
      return gang.first(c -> ranks.get(c.rank()).restore(partDir));
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
