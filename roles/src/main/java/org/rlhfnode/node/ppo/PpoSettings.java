package org.rlhfnode.node.ppo;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.node.cli.train.TrainSettings;
import org.rlhfnode.node.sync.WeightSyncSettings;
import org.rlhfnode.runtime.algo.RejectionSampler;
import org.rlhfnode.runtime.algo.ppo.AdvantageEstimator;
import org.rlhfnode.runtime.algo.ppo.ExperienceMaker;
import org.rlhfnode.runtime.algo.ppo.KlController;
import org.rlhfnode.runtime.algo.ppo.KlEstimator;
import org.rlhfnode.runtime.algo.ppo.MismatchCorrection;
import org.rlhfnode.runtime.algo.ppo.PolicyLoss;
import org.rlhfnode.runtime.algo.ppo.PpoUpdater;
import org.rlhfnode.runtime.algo.ppo.RewardShaping;
import org.rlhfnode.runtime.algo.ppo.ValueLoss;
import org.rlhfnode.runtime.data.DataOptions;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.train.AdamW;

/**
 * Everything a PPO run's roles read from the settings (roles' {@code reference.conf}, sections
 * {@code model, data, train, rollout, ppo, placement}), checked once: every node parses the same
 * {@code --config} file and flags, so every role sees the same run. Errors name the flag.
 *
 * @param experience rollout and advantage settings (algorithms.md §7)
 * @param update policy and critic update settings (§8)
 * @param promptsPerIteration P [rollout_batch_size]
 * @param maxStaleness how many versions a batch may lag the trainer (0 = synchronous)
 * @param weightSync the {@code rlhf.weight_sync} section (transport, windows, timeouts)
 */
public record PpoSettings(Path pretrain, Path refPretrain, List<Path> rewardPretrain, Path criticPretrain,
    List<String> rewardFunctions, RejectionSampler.Combine rewardCombine, double[] rewardWeights,
    boolean normalizeReward, ScalarType dtype, int threads, Devices devices, DataOptions prompts,
    DataOptions evalPrompts, int promptMaxLen, int promptsPerIteration, int numEpisodes, int maxIterations,
    ExperienceMaker.Options experience, PpoUpdater.Options update, AdamW.Options adam, double initKlCoef,
    Double klTarget, double klHorizon, int freezingActorSteps, int maxStaleness, Path savePath, int saveSteps,
    int evalSteps, long seed, boolean saveBf16, Duration roleTimeout, Config weightSync) {

  /** The device group of each role. */
  public record Devices(DeviceSpec actor, DeviceSpec critic, DeviceSpec rollout, DeviceSpec reference,
      DeviceSpec reward) {}

  /** Reads and checks the settings. */
  public static PpoSettings from(TrainSettings s) {
    Path pretrain = s.path("model.pretrain");
    Path ref = s.optPath("model.ref_pretrain");
    List<Path> rms = s.list("model.reward_pretrain").stream().map(Path::of).toList();
    List<String> functions = s.list("ppo.reward_functions");
    if (rms.isEmpty() && functions.isEmpty()) {
      throw new IllegalArgumentException("--reward_pretrain or --reward_functions is required (the reward source)");
    }
    AdvantageEstimator estimator = AdvantageEstimator.fromName(s.string("ppo.advantage_estimator"));
    Path critic = s.optPath("ppo.critic_pretrain");
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
    RewardShaping.Options shaping = new RewardShaping.Options(0, 0, 1.0, 1.0, Double.parseDouble(clipRange.get(0)),
        Double.parseDouble(clipRange.get(1)));
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
    return new PpoSettings(pretrain, ref == null ? pretrain : ref, rms, critic, functions,
        RejectionSampler.Combine.valueOf(s.string("rollout.reward_combine").toUpperCase(Locale.ROOT)),
        w.isEmpty() ? null : w.stream().mapToDouble(Double::parseDouble).toArray(),
        s.bool("algo.normalize_reward"), s.bool("train.bf16") ? ScalarType.BFloat16 : ScalarType.Float,
        s.integer("model.threads"), devices(s), promptData(s, "ppo.prompt_data", s.integer("data.max_samples")),
        s.optString("ppo.eval_prompt_data") == null ? null
            : promptData(s, "ppo.eval_prompt_data", s.integer("ppo.eval_max_samples")),
        positive(s, "ppo.prompt_max_len"), positive(s, "ppo.rollout_batch_size"), positive(s, "ppo.num_episodes"),
        s.integer("ppo.max_iterations"), exp, update, adam, initKl, kt == null ? null : Double.parseDouble(kt),
        s.number("ppo.kl_horizon"), s.integer("ppo.freezing_actor_steps"), maxStaleness, s.path("train.save_path"),
        s.integer("train.save_steps"), s.integer("train.eval_steps"), s.longValue("train.seed"),
        s.string("train.save_dtype").startsWith("b"), Duration.ofSeconds(s.longValue("ppo.role_timeout_s")),
        s.asConfig().withOnlyPath("rlhf.weight_sync"));
  }

  private static PpoUpdater.Options updateOptions(TrainSettings s, int maxStaleness, double klLossCoef,
      KlEstimator kl, double temperature) {
    double eps = s.number("ppo.eps_clip");
    String hi = s.optString("ppo.eps_clip_high");
    String dual = s.optString("ppo.dual_clip");
    String mismatchName = s.string("ppo.mismatch_correction");
    MismatchCorrection mismatch = mismatchName.equals("auto")
        ? (maxStaleness > 0 ? MismatchCorrection.TIS : MismatchCorrection.NONE)
        : MismatchCorrection.fromName(mismatchName);
    PolicyLoss.Options policy = PolicyLoss.Options.DEFAULTS.withClip(eps, hi == null ? eps : Double.parseDouble(hi))
        .withDualClip(dual == null ? 0 : Double.parseDouble(dual))
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
    String first = group.contains(",") ? group.substring(0, group.indexOf(',')) : group;
    try {
      return DeviceSpec.parse(first);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--" + path.substring(path.indexOf('.') + 1) + " '" + group
          + "': " + e.getMessage());
    }
  }

  private static DataOptions promptData(TrainSettings s, String path, int maxSamples) {
    DataOptions.Builder b = DataOptions.builder().dataset(String.join(",", s.list(path)))
        .inputKey(s.optString("data.input_key")).applyChatTemplate(s.bool("data.apply_chat_template"))
        .maxSamples(maxSamples).seed(s.longValue("train.seed"));
    if (s.optString("data.input_template") != null) {
      b.inputTemplate(s.optString("data.input_template").replace("\\n", "\n"));
    }
    if (s.list(path).isEmpty()) {
      throw new IllegalArgumentException("--" + path.substring(path.indexOf('.') + 1) + " is required");
    }
    return b.build();
  }

  private static int positive(TrainSettings s, String path) {
    int v = s.integer(path);
    if (v < 1) {
      throw new IllegalArgumentException("--" + path.substring(path.indexOf('.') + 1) + " must be ≥ 1, got " + v);
    }
    return v;
  }

  /** The KL coefficient controller of §9: fixed, or adaptive when {@code kl_target} is set. */
  public KlController klController() {
    return klTarget == null ? KlController.fixed(initKlCoef) : KlController.adaptive(initKlCoef, klTarget, klHorizon);
  }

  /** Whether the run needs a reference model (a KL term). */
  public boolean needsReference() {
    return experience.klAsLoss() ? initKlCoef > 0 : (initKlCoef > 0 || klTarget != null);
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
