package org.rlhfnode.node.role;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.PpoUpdater;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.algo.ppo.ScoringPass;
import org.rlhfnode.runtime.checkpoint.CheckpointManager;
import org.rlhfnode.runtime.checkpoint.LoadedCheckpoint;
import org.rlhfnode.runtime.checkpoint.RngState;
import org.rlhfnode.runtime.checkpoint.RunCheckpoints;
import org.rlhfnode.runtime.checkpoint.TrainingState;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.ModelSaver;
import org.rlhfnode.runtime.model.RewardHead;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * What a {@link TrainerRole} trains: the policy (scores lp_old, minimises the clipped surrogate,
 * counts weight versions, publishes weights) or the critic (scores V_old, minimises the value loss).
 * Both train in float32 master weights on their device with their own AdamW (algorithms.md §8).
 */
public final class Learner {
  private static final String UPDATES = "ppo_updates";
  private static final String ROLE = "role";
  private static final String VERSION = "policy_version";
  private static final String RUN = "run_id";
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

  /** Loads the model and builds its optimizer and updater; on the role's thread. */
  Loaded load() {
    Path dir = policy ? settings.models().pretrain() : settings.models().criticPretrain();
    CausalLm model = ModelLoader.load(dir, device(), ScalarType.Float);
    if (!policy) {
      model = RewardHead.ensure(model, settings.run().seed());
    }
    return new Loaded(model, dir);
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

  /** A loaded model with its optimizer. */
  final class Loaded implements AutoCloseable {
    private final CausalLm model;
    private final Path source;
    private final AdamW adam;
    private final PpoUpdater updater;

    Loaded(CausalLm model, Path source) {
      this.model = model;
      this.source = source;
      Map<String, Tensor> params = model.parameters();
      params.values().forEach(t -> t.requires_grad_(true));
      this.adam = new AdamW(params, settings.adam());
      PpoUpdater.Trainee trainee = new PpoUpdater.Trainee(model, params, adam);
      this.updater = policy ? new PpoUpdater(settings.update(), trainee, null)
          : new PpoUpdater(settings.update(), null, trainee);
    }

    /** lp_old (policy) or V_old (critic) of the rows, with the current weights. */
    TensorMap score(RolloutRows rows) {
      model.checkTokenIds(rows.ids(), "sequence");
      int micro = settings.experience().microRolloutBatchSize();
      return policy
          ? WireArrays.perToken(TensorNames.OLD_LOG_PROBS, rows,
              ScoringPass.logProbs(model, rows, settings.experience().temperature(), micro))
          : WireArrays.perToken(TensorNames.VALUES, rows, ScoringPass.values(model, rows, micro));
    }

    /** One update per experience batch; the actor is frozen for the first {@code freezing_actor_steps}. */
    PpoUpdater.Metrics train(List<Experience> batches, long iteration) {
      boolean trainActor = iteration >= settings.run().freezingActorSteps();
      PpoUpdater.Metrics last = null;
      for (Experience e : batches) {
        last = updater.update(e, trainActor);
      }
      return last;
    }

    /** The current weights as a payload of version {@code version}. */
    WeightPayload payload(long version) {
      return WeightPayload.of(version, model);
    }

    /** Saves the model as a HuggingFace directory (with the tokenizer files); returns the bytes written. */
    long export(Path dir) {
      ModelSaver.save(model, dir, settings.run().saveBf16() ? DType.BF16 : DType.F32, ModelSaver.DEFAULT_SHARD_BYTES);
      HfTokenizer.copyFiles(source, dir);
      return bytesUnder(dir);
    }

    /**
     * Writes this learner's part of checkpoint {@code tag} (after {@code iteration} iterations) into
     * {@code partDir}: the fp32 weights, the AdamW state, the update count that seeds the next shuffles and
     * the weight version; with {@code save_hf_ckpt} the policy also writes {@code hf/}, a HuggingFace
     * directory. Returns the SHA-256 of the part's manifest.
     */
    String writePart(Path partDir, String tag, long iteration, long version, String runId) {
      try (PointerScope scope = new PointerScope()) {
        TrainingState state = new TrainingState(iteration, 0, Map.of(),
            RngState.of(settings.run().seed(), Map.of(UPDATES, updater.updates())), iteration,
            Map.of(ROLE, role().label(), VERSION, version, RUN, runId));
        RunCheckpoints.PartContent hf = policy && settings.resilience().saveHfCkpt() ? dir -> export(dir.resolve("hf"))
            : null;
        return RunCheckpoints.writeTrainerPart(partDir, tag, iteration, model.parameters(), adam.exportState(), state,
            hf);
      }
    }

    /**
     * Puts the state of the part in {@code partDir} back (verified against its manifest) and returns its
     * weight version.
     *
     * @throws org.rlhfnode.runtime.io.CheckpointFormatException the part is damaged (names the file)
     * @throws IllegalArgumentException the part is of another role or model (names the file and tensor)
     */
    long restore(Path partDir) {
      try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
        LoadedCheckpoint c = RunCheckpoints.loadTrainerPart(partDir);
        Object role = c.state().metadata().get(ROLE);
        if (!role().label().equals(role)) {
          throw new IllegalArgumentException(partDir + ": a part of the " + role + " role, not of the " + role());
        }
        Map<String, Tensor> params = model.parameters();
        Path weights = partDir.resolve(CheckpointManager.MODEL_DIR);
        if (!params.keySet().equals(c.modelWeights().keySet())) {
          throw new IllegalArgumentException(weights + ": other tensors than this model's (" + c.modelWeights().size()
              + " vs " + params.size() + "): a checkpoint of another model");
        }
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
          Tensor saved = c.modelWeights().get(e.getKey());
          if (!Arrays.equals(saved.sizes().vec().get(), e.getValue().sizes().vec().get())) {
            throw new IllegalArgumentException(weights + ": tensor " + e.getKey() + " has shape "
                + Arrays.toString(saved.sizes().vec().get()) + ", the model's is "
                + Arrays.toString(e.getValue().sizes().vec().get()) + ": a checkpoint of another model");
          }
          e.getValue().detach().copy_(saved);
        }
        adam.restoreState(c.optimizerState());
        updater.restoreUpdates(c.state().rng().counter(UPDATES, 0));
        return ((Number) c.state().metadata().get(VERSION)).longValue();
      }
    }

    @Override
    public void close() {
      adam.close();
      model.close();
    }
  }
}
