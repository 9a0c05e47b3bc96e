package org.rlhfnode.node.role;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.PpoUpdater;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.algo.ppo.ScoringPass;
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

  /** {@code "policy"} or {@code "critic"}. */
  public String role() {
    return policy ? "policy" : "critic";
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
    Path dir = policy ? settings.pretrain() : settings.criticPretrain();
    CausalLm model = ModelLoader.load(dir, device(), ScalarType.Float);
    if (!policy) {
      model = RewardHead.ensure(model, settings.seed());
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
      boolean trainActor = iteration >= settings.freezingActorSteps();
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
    long save(Path dir) {
      ModelSaver.save(model, dir, settings.saveBf16() ? DType.BF16 : DType.F32, ModelSaver.DEFAULT_SHARD_BYTES);
      HfTokenizer.copyFiles(source, dir);
      try (Stream<Path> files = Files.walk(dir)) {
        return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public void close() {
      adam.close();
      model.close();
    }
  }
}
