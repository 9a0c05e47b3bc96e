package org.rlhfnode.node.role;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
import org.rlhfnode.runtime.checkpoint.RngState;
import org.rlhfnode.runtime.checkpoint.SavedTensors;
import org.rlhfnode.runtime.checkpoint.SharedPart;
import org.rlhfnode.runtime.checkpoint.StateShare;
import org.rlhfnode.runtime.checkpoint.TrainingState;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.lora.LoraCheckpoint;
import org.rlhfnode.runtime.lora.LoraConfig;
import org.rlhfnode.runtime.lora.LoraModel;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.ModelSaver;
import org.rlhfnode.runtime.model.ParameterLayout;
import org.rlhfnode.runtime.model.RewardHead;
import org.rlhfnode.runtime.parallel.Parallelism;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;
import org.rlhfnode.runtime.train.RankedCheckpoint;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * One rank of a {@link Learner}: its copy (or, at ZeRO-3, its shard) of the model, its part of the
 * optimizer and its updater, used only on the rank's own thread. Every rank runs every method (they
 * are collective at N ranks); rank 0 alone writes files and returns payloads.
 */
final class LearnerRank implements AutoCloseable {
  private static final String UPDATES = "ppo_updates";
  private static final String ROLE = "role";
  private static final String VERSION = "policy_version";
  private static final String RUN = "run_id";

  private final boolean policy;
  private final PpoSettings settings;
  private final Collectives collectives;
  private final CausalLm model;
  private final Path source;
  private final LoraModel lora; // null: the whole model trains
  private final Parallelism.Prepared prepared;
  private final PpoUpdater updater;
  /** The whole tensors' shapes, taken before ZeRO-3 empties them: what a checkpoint part must hold. */
  private final Map<String, long[]> shapes = new java.util.LinkedHashMap<>();

  private LearnerRank(boolean policy, PpoSettings settings, Collectives collectives, CausalLm model, Path source) {
    this.policy = policy;
    this.settings = settings;
    this.collectives = collectives;
    this.model = model;
    this.source = source;
    LoraConfig adapters = settings.models().lora();
    this.lora = adapters == null ? null : LoraModel.attach(model, adapters, settings.run().seed());
    Map<String, Tensor> params = trainable(policy, model, lora);
    params.forEach((k, v) -> shapes.put(k, v.sizes().vec().get()));
    PpoSettings.Scale t = settings.scale();
    this.prepared = new Parallelism(t.zeroStage(), t.gradientCheckpointing()).prepare(model, params, false,
        settings.adam(), settings.update().maxGradNorm(), collectives, lora == null ? null : lora.dropoutGenerator(),
        lora != null);
    PpoUpdater.Trainee trainee = new PpoUpdater.Trainee(model, prepared.update(), prepared.afterBackward());
    this.updater = policy ? new PpoUpdater(settings.update(), trainee, null, collectives)
        : new PpoUpdater(settings.update(), null, trainee, collectives);
  }

  /**
   * What the optimizer updates: every weight, or with LoRA the adapters (and a critic's value head, which
   * starts untrained or from a reward model and must fit the values).
   */
  private static Map<String, Tensor> trainable(boolean policy, CausalLm model, LoraModel lora) {
    if (lora == null) {
      model.parameters().values().forEach(t -> t.requires_grad_(true));
      return model.parameters();
    }
    Map<String, Tensor> out = new java.util.LinkedHashMap<>(lora.trainableParameters());
    if (!policy) {
      Tensor head = model.parameters().get(ParameterLayout.SCORE);
      head.requires_grad_(true);
      out.put(ParameterLayout.SCORE, head);
    }
    return out;
  }

  /** Loads the model on {@code device}, this rank's (a critic gets a score head when it has none). */
  static LearnerRank load(boolean policy, PpoSettings s, Collectives c, org.rlhfnode.runtime.tensor.DeviceSpec device) {
    Path dir = policy ? s.models().pretrain() : s.models().criticPretrain();
    CausalLm model = ModelLoader.load(dir, device, ScalarType.Float);
    try {
      if (!policy) {
        model = RewardHead.ensure(model, s.run().seed());
      }
      model.setPacking(s.scale().packingSamples());
      return new LearnerRank(policy, s, c, model, dir);
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  private Role role() {
    return policy ? Role.POLICY : Role.CRITIC;
  }

  /** lp_old (policy) or V_old (critic) of the rows; every rank computes them (ZeRO-3 needs all). */
  TensorMap score(RolloutRows rows) {
    model.checkTokenIds(rows.ids(), "sequence");
    int micro = settings.experience().microRolloutBatchSize();
    try {
      return policy
          ? WireArrays.perToken(TensorNames.OLD_LOG_PROBS, rows,
              ScoringPass.logProbs(model, rows, settings.experience().temperature(), micro))
          : WireArrays.perToken(TensorNames.VALUES, rows, ScoringPass.values(model, rows, micro));
    } finally {
      prepared.releaseAll();
    }
  }

  /** One update per experience batch; the actor is frozen for the first {@code freezing_actor_steps}. */
  PpoUpdater.Metrics train(List<Experience> batches, long iteration) {
    boolean trainActor = iteration >= settings.run().freezingActorSteps();
    PpoUpdater.Metrics last = null;
    for (Experience e : batches) {
      if (lora != null) { // adapter dropout on, its masks drawn from a stream fixed by (seed, update): resumable
        lora.dropoutGenerator().set_current_seed(settings.run().seed() * 1_000_003L + updater.updates());
        lora.setTraining(true);
      }
      try {
        last = updater.update(e, trainActor);
      } finally {
        if (lora != null) {
          lora.setTraining(false);
        }
      }
    }
    return last;
  }

  /** Rank 0: the current weights as a payload; other ranks help gather them (ZeRO-3) and return null. */
  WeightPayload payload(long version) {
    prepared.materializeAll();
    try {
      if (!collectives.isFirst()) {
        return null;
      }
      return lora == null ? WeightPayload.of(version, model) : WeightPayload.of(version, lora.trainableParameters());
    } finally {
      prepared.releaseAll();
    }
  }

  /** Rank 0 saves the model as a HuggingFace directory; returns the bytes written (0 elsewhere). */
  long export(Path dir) {
    prepared.materializeAll();
    try {
      if (!collectives.isFirst()) {
        return 0;
      }
      exportHere(dir);
      return Learner.bytesUnder(dir);
    } finally {
      prepared.releaseAll();
      collectives.barrier();
    }
  }

  /** A write that failed (on any rank), returned rather than thrown so that the rank gang stays usable. */
  record Failed(RuntimeException error) {}

  /**
   * See {@link Learner.Loaded#writePart}: the ranks write one staging directory together
   * ({@link RankedCheckpoint#save}): the weights and AdamW state as {@link
   * org.rlhfnode.runtime.train.ParameterUpdate#checkpointShare} gives them (consolidated, written by rank 0;
   * under ZeRO one file per rank, each rank writing its own pieces), rank 0 also the training state and
   * {@code hf/}; rank 0 seals it. Returns the part's SHA-256 (rank 0), null (other ranks) or, on every
   * rank when the write failed on any, a {@link Failed}.
   */
  Object writePart(Path partDir, String tag, long iteration, long version, String runId) {
    try (PointerScope scope = new PointerScope()) {
      StateShare share = prepared.update().checkpointShare();
      prepared.materializeAll(); // the hf/ directory reads the model whole
      try {
        TrainingState state = new TrainingState(iteration, 0, Map.of(),
            RngState.of(settings.run().seed(), Map.of(UPDATES, updater.updates())), iteration,
            Map.of(ROLE, role().label(), VERSION, version, RUN, runId));
        boolean hf = policy && settings.resilience().saveHfCkpt();
        Path staging = SharedPart.staging(partDir);
        int rank = collectives.rank();
        return RankedCheckpoint.save(collectives, "checkpoint part " + partDir,
            () -> SharedPart.begin(partDir),
            () -> {
              share.writeTo(staging, rank);
              if (rank == 0) {
                CheckpointManager.writeState(staging, state);
                if (hf) {
                  exportHere(staging.resolve("hf"));
                }
              }
            },
            () -> SharedPart.commit(staging, partDir, tag, iteration),
            () -> SharedPart.abort(staging));
      } catch (RuntimeException e) {
        return new Failed(e); // the ranks agreed on the failure and made the same calls: the gang is sound
      } finally {
        prepared.releaseAll();
      }
    }
  }

  /**
   * The model as a HuggingFace directory; with LoRA the adapters merged in (what a rollout engine serves), and
   * the adapters themselves in PEFT's format under {@code adapter/}.
   */
  private void exportHere(Path dir) {
    DType dtype = settings.run().saveBf16() ? DType.BF16 : DType.F32;
    if (lora == null) {
      ModelSaver.save(model, dir, dtype, ModelSaver.DEFAULT_SHARD_BYTES);
    } else {
      LoraCheckpoint.saveMerged(lora, dir, dtype, source.toString());
    }
    HfTokenizer.copyFiles(source, dir);
  }

  /**
   * See {@link Learner.Loaded#restore}: rank 0 verifies the whole part (every file's SHA-256) and each
   * rank reads only the ranges it keeps, from a consolidated part or one file per rank, written on any
   * number of ranks at any ZeRO stage.
   */
  long restore(Path partDir) {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      RankedCheckpoint.verifyOnFirst(collectives, partDir);
      TrainingState state = CheckpointManager.readState(partDir);
      Object savedRole = state.metadata().get(ROLE);
      if (!role().label().equals(savedRole)) {
        throw new IllegalArgumentException(partDir + ": a part of the " + savedRole + " role, not of the " + role());
      }
      try (SavedTensors saved = SavedTensors.open(partDir)) {
        saved.requireShapes(shapes); // before anything changes
        prepared.update().restore(saved);
      }
      updater.restoreUpdates(state.rng().counter(UPDATES, 0));
      return ((Number) state.metadata().get(VERSION)).longValue();
    }
  }

  @Override
  public void close() {
    prepared.close();
    if (lora != null) {
      lora.close();
    }
    model.close();
  }
}
