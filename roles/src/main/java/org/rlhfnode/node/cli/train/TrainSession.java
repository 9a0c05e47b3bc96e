package org.rlhfnode.node.cli.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.data.BatchIterator;
import org.rlhfnode.runtime.data.DataOptions;
import org.rlhfnode.runtime.data.TokenizerView;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.lora.LoraCheckpoint;
import org.rlhfnode.runtime.lora.LoraConfig;
import org.rlhfnode.runtime.lora.LoraModel;
import org.rlhfnode.runtime.metrics.Summary;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.ModelSaver;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.parallel.Parallelism;
import org.rlhfnode.runtime.train.BatchSource;
import org.rlhfnode.runtime.train.ExampleBatches;
import org.rlhfnode.runtime.train.LrSchedule;
import org.rlhfnode.runtime.train.Objective;
import org.rlhfnode.runtime.train.TrainConfig;
import org.rlhfnode.runtime.train.Trainer;
import org.rlhfnode.runtime.train.TrainingRun;

/**
 * Everything one {@code train} command builds from its settings: the tokenizer, the policy (with
 * LoRA adapters when {@code --lora_rank} > 0), frozen models it needs, the trainer and the export.
 */
final class TrainSession implements AutoCloseable {
  final TrainSettings settings;
  final TrainConfig config;
  final DeviceSpec device;
  final ScalarType dtype;
  final Path pretrain;
  final HfTokenizer tokenizer;
  final Collectives collectives;
  private final DataParallelism parallelism;
  private CausalLm policy;
  private LoraModel lora;

  /** Rank {@code collectives.rank()} of the run's data-parallel group (one rank: {@link Collectives#single()}). */
  TrainSession(TrainSettings s, Collectives collectives) {
    this.settings = s;
    this.collectives = collectives;
    this.config = trainConfig(s);
    this.parallelism = DataParallelism.of(s, collectives);
    org.rlhfnode.runtime.tensor.CpuThreads.configure(s.integer("model.threads"));
    torch.manual_seed(config.seed());
    this.device = DeviceSpec.parse(s.string("model.device"));
    this.dtype = config.bf16() ? ScalarType.BFloat16 : ScalarType.Float;
    this.pretrain = s.model("model.pretrain");
    this.tokenizer = HfTokenizer.load(pretrain);
    this.policy = packed(ModelLoader.load(pretrain, device, dtype));
  }

  /** {@code --packing_samples}: the model's cache-less forwards run packed ({@link CausalLm#setPacking}). */
  private CausalLm packed(CausalLm model) {
    model.setPacking(settings.bool("train.packing_samples"));
    return model;
  }

  static TrainConfig trainConfig(TrainSettings s) {
    List<String> betas = s.list("train.adam_betas");
    if (betas.size() != 2) {
      throw new IllegalArgumentException("--adam_betas needs two values, got " + betas);
    }
    AdamW.Options adam = new AdamW.Options(Double.parseDouble(betas.get(0)), Double.parseDouble(betas.get(1)),
        s.number("train.adam_eps"), s.number("train.l2"));
    return new TrainConfig(s.path("train.save_path"), s.integer("train.max_epochs"),
        s.integer("train.micro_train_batch_size"), s.integer("train.train_batch_size"),
        s.number("train.learning_rate"), s.number("train.lr_warmup_ratio"),
        LrSchedule.Kind.parse(s.string("train.lr_scheduler")), s.number("train.max_norm"), adam,
        s.longValue("train.seed"), s.integer("train.save_steps"), s.integer("train.eval_steps"),
        s.integer("train.logging_steps"), s.optPath("train.ckpt_path"), s.bool("train.load_checkpoint"),
        s.integer("train.max_ckpt_num"), s.bool("train.bf16"), s.longValue("train.max_steps"));
  }

  /** Data options from the settings; {@code sftDefaults} applies OpenRLHF's SFT input template default. */
  DataOptions dataOptions(boolean sftDefaults) {
    DataOptions.Builder b = sftDefaults ? DataOptions.sftBuilder() : DataOptions.builder();
    TrainSettings s = settings;
    b.dataset(String.join(",", s.list("data.dataset"))).datasetSplit(s.string("data.dataset_split"))
        .evalSplit(s.optString("data.eval_split"))
        .maxSamples(s.integer("data.max_samples")).maxLen(s.integer("data.max_len")).seed(config.seed())
        .inputKey(s.optString("data.input_key")).outputKey(s.optString("data.output_key"))
        .promptKey(s.optString("data.prompt_key")).chosenKey(s.optString("data.chosen_key"))
        .rejectedKey(s.optString("data.rejected_key")).labelKey(s.optString("data.label_key"))
        .marginKey(s.optString("data.margin_key")).applyChatTemplate(s.bool("data.apply_chat_template"))
        .pretrainMode(s.bool("data.pretrain_mode"));
    if (!s.list("data.dataset_probs").isEmpty()) {
      b.datasetProbs(String.join(",", s.list("data.dataset_probs")));
    }
    if (s.optString("data.eval_dataset") != null) {
      b.evalDataset(s.optString("data.eval_dataset"));
    }
    if (s.optString("data.input_template") != null) {
      b.inputTemplate(s.optString("data.input_template").replace("\\n", "\n"));
    }
    if (s.list("data.dataset").isEmpty()) {
      throw new IllegalArgumentException("--dataset is required");
    }
    return b.build();
  }

  TokenizerView tokenizerView() {
    return TokenizerView.of(tokenizer);
  }

  CausalLm policy() {
    return policy;
  }

  /** Replaces the policy (e.g. after adding a score head); the old one must already be closed or reused. */
  void replacePolicy(CausalLm model) {
    this.policy = packed(model);
  }

  /** Loads a frozen model (reference or reward) in the session's dtype and device. */
  CausalLm frozen(Path dir) {
    return packed(ModelLoader.load(dir, device, dtype));
  }

  /**
   * Attaches LoRA if asked ({@code --lora_rank} > 0: fresh adapters; {@code --lora_path}: saved PEFT
   * adapters to continue from) and returns the tensors to optimise; everything else is frozen.
   */
  Map<String, Tensor> trainable() {
    TrainSettings s = settings;
    Path saved = s.optModel("lora.lora_path");
    if (saved != null) {
      lora = LoraCheckpoint.load(policy, saved, config.seed());
    } else {
      List<String> targets = LoraConfig.parseTargetModules(String.join(",", s.list("lora.target_modules")));
      LoraConfig.fromFlags(s.integer("lora.lora_rank"), s.number("lora.lora_alpha"), s.number("lora.lora_dropout"),
          targets).ifPresent(c -> lora = LoraModel.attach(policy, c, config.seed()));
    }
    if (lora != null) {
      lora.setTraining(true);
      return lora.trainableParameters();
    }
    Map<String, Tensor> params = policy.parameters();
    params.values().forEach(t -> t.requires_grad_(true));
    return params;
  }

  /** Micro-batches of {@code micro_train_batch_size}, {@code train_batch_size / micro} per step. */
  <E, B> BatchSource<B> batches(BatchIterator<E> micro, Function<List<E>, B> collate) {
    return new ExampleBatches<>(micro, config.accumulationSteps(), collate);
  }

  /** Runs the training loop and exports the final model to {@code --save_path}. */
  <B> Summary run(Objective<B> objective, BatchSource<B> source, Map<String, Tensor> trainable,
      Supplier<Map<String, Double>> evaluator, String label, Supplier<Map<String, ?>> extraConfig) {
    long scheduled = source.stepsPerEpoch() * config.maxEpochs();
    LrSchedule schedule = LrSchedule.of(config.lrScheduler(), config.learningRate(), Math.max(1, scheduled),
        config.lrWarmupRatio());
    try (Parallelism.Prepared prepared = parallelism.prepare(policy, trainable, config,
        lora == null ? null : lora.dropoutGenerator(), lora != null)) {
      Trainer<B> trainer = new Trainer<>(config, objective, source, prepared.update(), schedule, collectives,
          prepared.afterBackward());
      Supplier<Map<String, Double>> eval = evaluator == null ? null : () -> withoutTraining(evaluator, prepared);
      TrainingRun<B> run = new TrainingRun<>(trainer, eval, dir -> {
        Map<String, ?> extra = extraConfig.get();
        prepared.materializeAll();
        if (collectives.isFirst()) {
          export(dir, extra);
        }
        collectives.barrier(); // every rank returns once the model is written
      }, label);
      run.withTensorBoard(settings.optPath("train.use_tensorboard"));
      if (settings.bool("train.save_hf_ckpt")) {
        run.withHfCheckpoints(dir -> hfCopy(dir, prepared));
      }
      Summary summary = (lora == null ? run : run.withRandomStream(lora.dropoutGenerator())).run();
      if (policy.packing() && collectives.isFirst()) {
        System.out.println(policy.packingTally().describe() + (collectives.worldSize() > 1 ? " on rank 0" : ""));
      }
      return summary;
    }
  }

  private Map<String, Double> withoutTraining(Supplier<Map<String, Double>> evaluator,
      Parallelism.Prepared prepared) {
    if (lora != null) {
      lora.setTraining(false);
    }
    try (NoGradGuard guard = new NoGradGuard()) {
      return evaluator.get();
    } finally {
      prepared.releaseAll();
      if (lora != null) {
        lora.setTraining(true);
      }
    }
  }

  /**
   * {@code --save_hf_ckpt}: the model as it stands, as a HuggingFace directory (with LoRA the adapters merged
   * into a copy, and the adapters in PEFT's format under {@code adapter/}); every rank helps gather it, rank 0
   * writes.
   */
  private void hfCopy(Path dir, Parallelism.Prepared prepared) {
    prepared.materializeAll();
    try {
      if (!collectives.isFirst()) {
        return;
      }
      if (lora == null) {
        ModelSaver.save(policy, dir, saveDtype(), ModelSaver.DEFAULT_SHARD_BYTES);
      } else {
        LoraCheckpoint.saveMerged(lora, dir, saveDtype(), settings.string("model.pretrain"));
      }
      HfTokenizer.copyFiles(pretrain, dir);
    } finally {
      prepared.releaseAll();
    }
  }

  private DType saveDtype() {
    return settings.string("train.save_dtype").startsWith("b") ? DType.BF16 : DType.F32;
  }

  private void export(Path dir, Map<String, ?> extraConfig) {
    DType saveDtype = saveDtype();
    if (lora != null) {
      LoraCheckpoint.save(lora, dir.resolve(LoraCheckpoint.ADAPTER_DIR), settings.string("model.pretrain")); // as named
      lora.mergeAndUnload();
    }
    ModelSaver.save(policy, dir, saveDtype, ModelSaver.DEFAULT_SHARD_BYTES, extraConfig);
    HfTokenizer.copyFiles(pretrain, dir);
    try {
      Files.writeString(dir.resolve("train_config.conf"), settings.render());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    if (lora != null) {
      lora.close();
    }
    policy.close();
    tokenizer.close();
  }
}
