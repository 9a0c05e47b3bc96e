package org.rlhfnode.node.ppo;

import com.typesafe.config.Config;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.messages.Role;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.node.sync.WeightSyncSettings;
import org.rlhfnode.runtime.algo.RejectionSampler;
import org.rlhfnode.runtime.algo.ppo.AdvantageEstimator;
import org.rlhfnode.runtime.algo.ppo.DynamicFilter;
import org.rlhfnode.runtime.algo.ppo.ExperienceMaker;
import org.rlhfnode.runtime.algo.ppo.KlController;
import org.rlhfnode.runtime.algo.ppo.KlEstimator;
import org.rlhfnode.runtime.algo.ppo.MismatchCorrection;
import org.rlhfnode.runtime.algo.ppo.PolicyLoss;
import org.rlhfnode.runtime.algo.ppo.PpoUpdater;
import org.rlhfnode.runtime.algo.ppo.RemoteReward;
import org.rlhfnode.runtime.algo.ppo.RewardShaping;
import org.rlhfnode.runtime.algo.ppo.ValueLoss;
import org.rlhfnode.runtime.data.DataOptions;
import org.rlhfnode.runtime.hub.HubModels;
import org.rlhfnode.runtime.lora.LoraConfig;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.train.AdamW;

/**
 * Everything a PPO run's roles read from the settings (roles' {@code reference.conf}, sections
 * {@code model, data, train, rollout, ppo, placement, weight_sync}), checked once and grouped by what
 * uses it: every node parses the same {@code --config} file and flags, so every role sees the same run.
 * Errors name the flag.
 *
 * @param models the policy, reference, reward sources and critic, their dtype and threads
 * @param prompts the prompt sets and how many iterations they make
 * @param experience rollout and advantage settings (algorithms.md §7)
 * @param update policy and critic update settings (§8)
 * @param kl the KL coefficient's controller (§9)
 * @param run the loop's own settings: outputs, seed, staleness, timeouts
 * @param resilience checkpoints, resume and recovery
 * @param weightSync the {@code rlhf.weight_sync} section (transport, windows, timeouts)
 * @param scale how the trainers and the rollout engine spread over their ranks
 */
public record PpoSettings(Models models, Prompts prompts, ExperienceMaker.Options experience, PpoUpdater.Options update,
    AdamW.Options adam, Kl kl, Run run, Devices devices, Resilience resilience, Config weightSync,
    Scale scale) {

  /**
   * The trainer roles' ranks ({@code --actor_num_gpus_per_node}, {@code --critic_num_gpus_per_node}:
   * that many devices of the role's group, or that many CPU threads), their memory options, and the
   * rollout engine's tensor-parallel degree.
   *
   * @param actorRanks the device of each policy-trainer rank of one node
   * @param criticRanks the device of each critic rank of one node
   * @param actorNodes {@code --actor_num_nodes}: nodes whose ranks together form the policy trainer
   * @param criticNodes {@code --critic_num_nodes}
   * @param zeroStage {@code --zero_stage}
   * @param gradientCheckpointing {@code --gradient_checkpointing}
   * @param rolloutTensorParallel {@code --vllm_tensor_parallel_size}: ranks of each rollout engine
   * @param referenceRanks {@code --ref_num_gpus_per_node}: tensor-parallel ranks of the reference
   * @param rewardRanks {@code --reward_num_gpus_per_node}: tensor-parallel ranks of the reward models
   */
  public record Scale(List<DeviceSpec> actorRanks, List<DeviceSpec> criticRanks, int actorNodes, int criticNodes,
      int zeroStage,
      boolean gradientCheckpointing, int rolloutTensorParallel, int referenceRanks, int rewardRanks,
      boolean packingSamples) {}

  /**
   * The models of the run.
   *
   * @param rewardWeights one weight per reward source (reward models, functions, remote endpoints), or null
   * @param normalizeReward apply each reward model's stored mean/std
   * @param remoteReward the HTTP reward endpoints [remote_rm_url], or null
   * @param lora adapters the policy and critic train instead of their weights [lora_rank, ...], or null
   */
  public record Models(Path pretrain, Path refPretrain, List<Path> rewardPretrain, Path criticPretrain,
      List<String> rewardFunctions, RejectionSampler.Combine rewardCombine, double[] rewardWeights,
      boolean normalizeReward, ScalarType dtype, int threads, RemoteReward.Options remoteReward, LoraConfig lora) {}

  /**
   * The prompts.
   *
   * @param train {@code prompt_data} mixed by {@code prompt_data_probs}, split {@code prompt_split}; without
   *     {@code eval_prompt_data} it carries {@code eval_split} (a fraction held out, or a split name)
   * @param eval {@code eval_prompt_data} at split {@code eval_split} (default train), or null
   * @param maxLen prompt tokens kept (the last ones)
   * @param perIteration P [rollout_batch_size]
   * @param evalMaxSamples at most this many eval prompts [eval_max_samples]
   * @param dynamicFilter DAPO's dynamic sampling [dynamic_filtering, dynamic_filtering_reward_range], or null
   */
  public record Prompts(DataOptions train, DataOptions eval, int maxLen, int perIteration, int numEpisodes,
      int maxIterations, int evalMaxSamples, DynamicFilter dynamicFilter) {}

  /** β: {@code init_kl_coef}, adaptive when {@code target} (KL*) is set, with horizon H. */
  public record Kl(double initCoef, Double target, double horizon) {}

  /**
   * The loop.
   *
   * @param maxStaleness how many versions a batch may lag the trainer (0 = synchronous)
   * @param roleTimeout how long a request to a role may go unanswered
   * @param tensorBoard where the supervisor also writes the rows as TensorBoard events [use_tensorboard], or null
   */
  public record Run(Path savePath, int saveSteps, int evalSteps, long seed, boolean saveBf16, int maxStaleness,
      int freezingActorSteps, Duration roleTimeout, Path tensorBoard) {}

  /**
   * Checkpoints and recovery (OpenRLHF's names in brackets).
   *
   * @param ckptPath where checkpoints go [ckpt_path; default save_path/checkpoints]; shared by every node
   * @param maxCkptNum checkpoints kept [max_ckpt_num]
   * @param loadCheckpoint resume from the newest complete checkpoint [load_checkpoint]
   * @param saveHfCkpt also write the policy as a HuggingFace directory with each checkpoint [save_hf_ckpt]
   * @param recoveryTimeout how long a run waits for a lost role, or a node for a lost supervisor
   * @param stopTimeout how long a node stopped with TERM waits for the supervisor's last checkpoint
   * @param fingerprint the maths-changing settings a resumed run must share with its checkpoint
   */
  public record Resilience(Path ckptPath, int maxCkptNum, boolean loadCheckpoint, boolean saveHfCkpt,
      Duration recoveryTimeout, Duration stopTimeout, Map<String, String> fingerprint) {
    public Resilience {
      fingerprint = Map.copyOf(fingerprint);
    }
  }

  /** The device group of each role. */
  public record Devices(DeviceSpec actor, DeviceSpec critic, DeviceSpec rollout, DeviceSpec reference,
      DeviceSpec reward) {}

  /**
   * Settings that do not change a run's numbers, left out of the {@link Resilience#fingerprint}: where
   * things are and go, how often to save or evaluate, how long the run is, threads, devices and timeouts.
   */
  static final Set<String> OPERATIONAL = Set.of("model.pretrain", "model.ref_pretrain", "model.reward_pretrain",
      "model.device", "model.threads", "ppo.critic_pretrain", "ppo.prompt_data", "ppo.eval_prompt_data",
      "ppo.eval_max_samples", "ppo.max_iterations", "ppo.num_episodes", "ppo.role_timeout_s", "ppo.recovery_timeout_s",
      "ppo.stop_timeout_s", "train.save_path", "train.ckpt_path", "train.load_checkpoint", "train.max_ckpt_num",
      "train.save_steps", "train.eval_steps", "train.logging_steps", "train.save_dtype", "train.save_hf_ckpt",
      "rollout.output", "data.dataset", "data.eval_dataset", "train.ranks", "train.zero_stage",
      "train.gradient_checkpointing", "train.adam_offload", "ppo.remote_rm_url", "ppo.remote_rm_timeout_s",
      "ppo.remote_rm_attempts", "ppo.remote_rm_backoff_ms", "train.use_tensorboard", "ppo.metrics_port");
  private static final List<String> MATHS_SECTIONS = List.of("model", "data", "train", "rollout", "ppo", "algo",
      "lora");

  /** Reads and checks the settings. */
  public static PpoSettings from(TrainSettings s) {
    Path pretrain = located(s.string("model.pretrain"));
    Path ref = s.optString("model.ref_pretrain") == null ? null : located(s.optString("model.ref_pretrain"));
    List<Path> rms = s.list("model.reward_pretrain").stream().map(PpoSettings::located).toList();
    List<String> functions = s.list("ppo.reward_functions");
    RemoteReward.Options remote = ObjectiveSettings.remote(s, seconds(s, "ppo.role_timeout_s"));
    if (rms.isEmpty() && functions.isEmpty() && remote == null) {
      throw new IllegalArgumentException("--reward_pretrain, --reward_functions or --remote_rm_url is required "
          + "(the reward source)");
    }
    AdvantageEstimator estimator = AdvantageEstimator.fromName(s.string("ppo.advantage_estimator"));
    Path critic = s.optString("ppo.critic_pretrain") == null ? null : located(s.optString("ppo.critic_pretrain"));
    if (critic == null && estimator.usesCritic()) {
      critic = rms.isEmpty() ? pretrain : rms.get(0);
    }
    int n = s.integer("rollout.n_samples_per_prompt");
    int maxStaleness = s.integer("ppo.max_staleness");
    if (maxStaleness < 0) {
      throw new IllegalArgumentException("--max_staleness must be ≥ 0, got " + maxStaleness);
    }
    List<String> clipRange = s.list("ppo.reward_clip_range");
    if (clipRange.size() != 2) {
      throw new IllegalArgumentException("--reward_clip_range needs two values, got " + clipRange);
    }
    RewardShaping.Options shaping = ObjectiveSettings.shaping(s, s.integer("rollout.generate_max_len"),
        Double.parseDouble(clipRange.get(0)), Double.parseDouble(clipRange.get(1)));
    KlEstimator kl = KlEstimator.fromName(s.string("ppo.kl_estimator"));
    boolean klLoss = s.bool("ppo.use_kl_loss");
    double temperature = s.number("rollout.temperature");
    ExperienceMaker.Options exp = new ExperienceMaker.Options(n, s.integer("rollout.generate_max_len"), temperature,
        s.integer("rollout.top_k"), s.number("rollout.top_p"), s.bool("ppo.ignore_eos"),
        s.integer("rollout.micro_rollout_batch_size"), estimator, kl, s.number("ppo.gamma"), s.number("ppo.lambd"),
        s.bool("ppo.no_advantage_std_norm"), klLoss, shaping);
    double initKl = s.number("ppo.init_kl_coef");
    PpoUpdater.Options update = updateOptions(s, maxStaleness, klLoss ? initKl : 0.0, kl, temperature);
    List<String> betas = s.list("train.adam_betas");
    if (betas.size() != 2) {
      throw new IllegalArgumentException("--adam_betas needs two values, got " + betas);
    }
    AdamW.Options adam = new AdamW.Options(Double.parseDouble(betas.get(0)), Double.parseDouble(betas.get(1)),
        s.number("train.adam_eps"), s.number("train.l2"));
    String kt = s.optString("ppo.kl_target");
    List<String> w = s.list("rollout.reward_weights");
    Models models = new Models(pretrain, ref == null ? pretrain : ref, rms, critic, functions,
        RejectionSampler.Combine.valueOf(s.string("rollout.reward_combine").toUpperCase(Locale.ROOT)),
        w.isEmpty() ? null : w.stream().mapToDouble(Double::parseDouble).toArray(),
        s.bool("algo.normalize_reward"), s.bool("train.bf16") ? ScalarType.BFloat16 : ScalarType.Float,
        s.integer("model.threads"), remote, lora(s));
    Prompts prompts = new Prompts(PromptSources.train(s), PromptSources.eval(s), positive(s, "ppo.prompt_max_len"),
        positive(s, "ppo.rollout_batch_size"), positive(s, "ppo.num_episodes"), s.integer("ppo.max_iterations"),
        positive(s, "ppo.eval_max_samples"), ObjectiveSettings.dynamicFilter(s, n));
    Path savePath = s.path("train.save_path");
    Run run = new Run(savePath, s.integer("train.save_steps"), s.integer("train.eval_steps"), s.longValue("train.seed"),
        s.string("train.save_dtype").startsWith("b"), maxStaleness, s.integer("ppo.freezing_actor_steps"),
        seconds(s, "ppo.role_timeout_s"), s.optPath("train.use_tensorboard"));
    return new PpoSettings(models, prompts, exp, update, adam,
        new Kl(initKl, kt == null ? null : Double.parseDouble(kt), s.number("ppo.kl_horizon")), run, devices(s),
        resilience(s, savePath), s.asConfig().withOnlyPath("rlhf.weight_sync"), ScaleSettings.from(s));
  }

  /** {@code --lora_rank} &gt; 0: the policy and critic train adapters; not with a tensor-parallel rollout engine. */
  private static LoraConfig lora(TrainSettings s) {
    LoraConfig lora = LoraConfig.fromFlags(s.integer("lora.lora_rank"), s.number("lora.lora_alpha"),
        s.number("lora.lora_dropout"), LoraConfig.parseTargetModules(String.join(",", s.list("lora.target_modules"))))
        .orElse(null);
    if (lora != null && s.integer("placement.vllm_tensor_parallel_size") > 1) {
      throw new IllegalArgumentException("--lora_rank with --vllm_tensor_parallel_size > 1: a tensor-parallel rollout "
          + "engine cannot merge LoRA adapters into its weight slices yet; use --vllm_tensor_parallel_size 1");
    }
    return lora;
  }

  private static Resilience resilience(TrainSettings s, Path savePath) {
    Path ckpt = s.optPath("train.ckpt_path");
    int keep = s.integer("train.max_ckpt_num");
    if (keep < 1) {
      throw new IllegalArgumentException("--max_ckpt_num must be ≥ 1, got " + keep);
    }
    return new Resilience(ckpt == null ? savePath.resolve("checkpoints") : ckpt, keep, s.bool("train.load_checkpoint"),
        s.bool("train.save_hf_ckpt"), seconds(s, "ppo.recovery_timeout_s"), seconds(s, "ppo.stop_timeout_s"),
        fingerprint(s));
  }

  /** The maths-changing settings ({@code section.key → value}): everything but {@link #OPERATIONAL}. */
  static Map<String, String> fingerprint(TrainSettings s) {
    return fingerprint(s.asConfig().getConfig("rlhf"));
  }

  /**
   * The maths-changing settings at their defaults (this build's {@code reference.conf}): what a checkpoint
   * written before a setting existed ran with, so a resume compares a missing key with its default.
   */
  public static Map<String, String> defaultFingerprint() {
    return fingerprint(com.typesafe.config.ConfigFactory.defaultReference().getConfig("rlhf"));
  }

  private static Map<String, String> fingerprint(Config c) {
    Map<String, String> out = new TreeMap<>();
    for (String section : MATHS_SECTIONS) {
      if (!c.hasPath(section)) {
        continue;
      }
      c.getConfig(section).root().forEach((key, value) -> {
        String path = section + "." + key;
        if (!OPERATIONAL.contains(path)) {
          out.put(path, canonical(value.unwrapped()));
        }
      });
    }
    return out;
  }

  /**
   * One spelling per value, whether it came from a flag (typed) or a file (text): numbers in plain decimal
   * without trailing zeros ({@code 1e-3}, {@code 0.0010} → {@code 0.001}), lists and comma lists joined by
   * commas.
   */
  static String canonical(Object value) {
    if (value == null) {
      return "null";
    }
    if (value instanceof List<?> list) {
      return String.join(",", list.stream().map(PpoSettings::canonical).toList());
    }
    String text = String.valueOf(value).trim();
    if (text.contains(",")) {
      return canonical(List.of(text.split(",")));
    }
    try {
      return new BigDecimal(text).stripTrailingZeros().toPlainString();
    } catch (NumberFormatException e) {
      return text;
    }
  }

  private static Duration seconds(TrainSettings s, String path) {
    long v = s.longValue(path);
    if (v < 1) {
      throw new IllegalArgumentException("--" + path.substring(path.indexOf('.') + 1) + " must be ≥ 1, got " + v);
    }
    return Duration.ofSeconds(v);
  }

  private static PpoUpdater.Options updateOptions(TrainSettings s, int maxStaleness, double klLossCoef,
      KlEstimator kl, double temperature) {
    String dual = s.optString("ppo.dual_clip");
    String mismatchName = s.string("ppo.mismatch_correction");
    MismatchCorrection mismatch = mismatchName.equals("auto")
        ? (maxStaleness > 0 ? MismatchCorrection.TIS : MismatchCorrection.NONE)
        : MismatchCorrection.fromName(mismatchName);
    PolicyLoss.Options policy = ObjectiveSettings.policy(s, mismatch).withDualClip(dual == null ? 0 : Double.parseDouble(dual))
        .withMismatch(mismatch, s.number("ppo.mismatch_low"), s.number("ppo.mismatch_high"));
    double vc = s.number("ppo.value_clip");
    String entropy = s.optString("ppo.entropy_loss_coef");
    return new PpoUpdater.Options(s.integer("train.train_batch_size"), s.integer("train.micro_train_batch_size"),
        s.integer("train.max_epochs"), s.number("ppo.actor_learning_rate"), s.number("ppo.critic_learning_rate"),
        policy, vc > 0 ? ValueLoss.Options.clip(vc) : ValueLoss.Options.unclipped(),
        entropy == null ? Double.NaN : Double.parseDouble(entropy), klLossCoef, kl, s.number("train.max_norm"),
        temperature, s.longValue("train.seed"));
  }

  private static Devices devices(TrainSettings s) {
    return new Devices(device(s, "placement.actor_devices"), device(s, "placement.critic_devices"),
        device(s, "placement.rollout_devices"), device(s, "placement.ref_devices"),
        device(s, "placement.reward_devices"));
  }

  /** "cpu" or "cuda:<ids>"; the first id of a group is the role's device. */
  static DeviceSpec device(TrainSettings s, String path) {
    String group = s.string(path).trim();
    return device(s, path, group.contains(",") ? group.substring(0, group.indexOf(',')) : group);
  }

  static DeviceSpec device(TrainSettings s, String path, String one) {
    String group = s.string(path).trim();
    try {
      return DeviceSpec.parse(one);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--" + path.substring(path.indexOf('.') + 1) + " '" + group
          + "': " + e.getMessage());
    }
  }

  /**
   * A model directory as a flag names it: the local path, or {@code org/name[@revision]} from the hub
   * cache; a name found nowhere stays as given, because a node checks only the models its own roles
   * load ({@code NodeChecks}, whose error says where it looked).
   */
  private static Path located(String spec) {
    return HubModels.find(spec).orElse(Path.of(spec));
  }

  static int positive(TrainSettings s, String path) {
    int v = s.integer(path);
    if (v < 1) {
      throw new IllegalArgumentException("--" + path.substring(path.indexOf('.') + 1) + " must be ≥ 1, got " + v);
    }
    return v;
  }

  /** The KL coefficient controller of §9 starting at {@code init_kl_coef}: fixed, or adaptive when {@code kl_target} is set. */
  public KlController klController() {
    return klController(kl.initCoef());
  }

  /** The same controller starting at β = {@code coef} (a resumed run's saved coefficient). */
  public KlController klController(double coef) {
    return kl.target() == null ? KlController.fixed(coef) : KlController.adaptive(coef, kl.target(), kl.horizon());
  }

  /** Whether the run needs a reference model (a KL term). */
  public boolean needsReference() {
    return experience.klAsLoss() ? kl.initCoef() > 0 : (kl.initCoef() > 0 || kl.target() != null);
  }

  /** The stateful roles of the run: the policy, and the critic when the estimator uses one. */
  public List<Role> statefulRoles() {
    return needsCritic() ? List.of(Role.POLICY, Role.CRITIC) : List.of(Role.POLICY);
  }

  /** The weight-sync settings, with the Artery frame sizes of the node's actor system. */
  public WeightSyncSettings weightSyncSettings(Config system) {
    return WeightSyncSettings.fromConfig(weightSync.withFallback(system));
  }

  /** Whether the run has a critic (GAE). */
  public boolean needsCritic() {
    return experience.estimator().usesCritic();
  }
}
