package org.rlhfnode.node.settings;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenRLHF's dotted flag names, as its scripts spell them since v0.10.2 ({@code --train.micro_batch_size},
 * {@code --ds.zero_stage}), each read as the flat name that flag had up to v0.10.1
 * ({@code --micro_train_batch_size}, {@code --zero_stage}), so that an OpenRLHF command of either release runs
 * unchanged. {@link TrainSettings#parse(List, String)} asks {@link #flatName} for every flag before looking it
 * up; the flat name then decides everything (setting, {@link OpenRlhfAliases alias}, {@link InformationalFlags
 * no effect}, refusal). Errors about the flag itself name the dotted flag as typed; a later message about an
 * accepted flag (the log line of a flag without effect, a disagreement with our spelling, a check made after
 * parsing) names it by its flat name or its setting.
 *
 * <p>Mapped are the dotted names whose flat name rlhf-node accepts (rows {@code same}, {@code alias} and
 * {@code no effect here} of docs/cli.md) or refuses with a reason ({@code --use_wandb} and the other
 * {@code --wandb_*}); a dotted name of a feature not supported yet is left out and so is an unknown option, as
 * its flat name is. {@code --adam.eps} (new in v0.10.2, no flat name) is read as our {@code --adam_eps}.
 * Where OpenRLHF's dotted name is also a path of reference.conf ({@code train.seed}, {@code data.max_len},
 * {@code rollout.temperature}, ...), that path wins; today each such path is the very setting the flat name
 * names. OpenRLHF gives the policy and the critic their own optimizer settings ({@code --actor.max_norm},
 * {@code --critic.max_norm}); rlhf-node has one of each for both, so the two must agree, and one given alone
 * logs that it sets both.
 *
 * <p>Read from OpenRLHF v0.11.0 (commit {@code 3c3be6234e0cb353e76bb8019947db9dfe99fca7}):
 * {@code openrlhf/cli/train_sft.py}, {@code train_rm.py}, {@code train_dpo.py}, {@code train_ppo_ray.py}. The
 * dotted names came with commit {@code ed62d0e20dea08397251eba5e010ee9dabc4d048} (first released in v0.10.2,
 * {@code 64c1cc4f}); v0.10.2, v0.10.3, v0.10.4 and v0.11.0 define the same names, and that commit's diff pairs
 * each with the flat name of v0.10.1.post2 ({@code ff481ecd}). docs/cli.md lists all 193 dotted names;
 * {@code OpenRlhfDottedNamesTest} checks that table against this class and the parser.
 */
public final class OpenRlhfDottedNames {
  private static final Logger LOG = LoggerFactory.getLogger(OpenRlhfDottedNames.class);
  private static final String CORRECTION_SWITCH = "enable_vllm_is_correction";

  /** Dotted name (underscores) → the flat name it stands for. */
  private static final Map<String, String> FLAT = Map.ofEntries(
      e("actor.adam.betas", "adam_betas"), e("actor.adam.eps", "adam_eps"),
      e("actor.adam.lr", "actor_learning_rate"), e("actor.adam.weight_decay", "l2"),
      e("actor.dual_clip", "dual_clip"), e("actor.entropy_coef", "entropy_loss_coef"),
      e("actor.eps_clip", "eps_clip"), e("actor.eps_clip_low_high", "eps_clip_low_high"),
      e("actor.gradient_checkpointing_enable", "gradient_checkpointing"),
      e("actor.gradient_checkpointing_reentrant", "gradient_checkpointing_use_reentrant"),
      e("actor.lr_scheduler", "lr_scheduler"), e("actor.lr_warmup_ratio", "lr_warmup_ratio"),
      e("actor.max_norm", "max_norm"), e("actor.model_name_or_path", "pretrain"),
      e("actor.num_gpus_per_node", "actor_num_gpus_per_node"), e("actor.num_nodes", "actor_num_nodes"),
      e("actor.policy_loss_type", "policy_loss_type"),
      e("adam.betas", "adam_betas"), e("adam.eps", "adam_eps"), e("adam.lr", "learning_rate"),
      e("adam.weight_decay", "l2"),
      e("algo.advantage.estimator", "advantage_estimator"), e("algo.advantage.gamma", "gamma"),
      e("algo.advantage.is_correction_enable", "enable_vllm_is_correction"),
      e("algo.advantage.is_correction_threshold", "vllm_is_truncated_threshold"),
      e("algo.advantage.is_correction_type", "vllm_is_correction_type"), e("algo.advantage.lambd", "lambd"),
      e("algo.advantage.no_std_norm", "no_advantage_std_norm"),
      e("algo.dynamic_filtering_enable", "dynamic_filtering"),
      e("algo.dynamic_filtering_range", "dynamic_filtering_reward_range"), e("algo.kl.estimator", "kl_estimator"),
      e("algo.kl.horizon", "kl_horizon"), e("algo.kl.init_coef", "init_kl_coef"), e("algo.kl.target", "kl_target"),
      e("algo.kl.use_loss", "use_kl_loss"),
      e("ckpt.load_enable", "load_checkpoint"), e("ckpt.max_num", "max_ckpt_num"),
      e("ckpt.output_dir", "save_path"), e("ckpt.path", "ckpt_path"), e("ckpt.save_hf", "save_hf_ckpt"),
      e("ckpt.save_steps", "save_steps"),
      e("critic.adam.betas", "adam_betas"), e("critic.adam.eps", "adam_eps"),
      e("critic.adam.lr", "critic_learning_rate"), e("critic.adam.weight_decay", "l2"),
      e("critic.freezing_steps", "freezing_actor_steps"), e("critic.lr_scheduler", "lr_scheduler"),
      e("critic.lr_warmup_ratio", "lr_warmup_ratio"), e("critic.max_norm", "max_norm"),
      e("critic.model_name_or_path", "critic_pretrain"), e("critic.num_gpus_per_node", "critic_num_gpus_per_node"),
      e("critic.num_nodes", "critic_num_nodes"), e("critic.value_clip", "value_clip"),
      e("data.apply_chat_template", "apply_chat_template"), e("data.chosen_key", "chosen_key"),
      e("data.dataloader_num_workers", "dataloader_num_workers"), e("data.dataset", "dataset"),
      e("data.dataset_probs", "dataset_probs"), e("data.dataset_split", "dataset_split"),
      e("data.input_key", "input_key"), e("data.input_template", "input_template"),
      e("data.label_key", "label_key"), e("data.max_len", "max_len"), e("data.max_samples", "max_samples"),
      e("data.output_key", "output_key"), e("data.prompt_dataset", "prompt_data"),
      e("data.prompt_key", "prompt_key"), e("data.prompt_probs", "prompt_data_probs"),
      e("data.prompt_split", "prompt_split"), e("data.rejected_key", "rejected_key"),
      e("ds.adam_offload", "adam_offload"), e("ds.attn_implementation", "attn_implementation"),
      e("ds.deepcompile", "deepcompile"), e("ds.enable_sleep", "deepspeed_enable_sleep"),
      e("ds.lora.alpha", "lora_alpha"), e("ds.lora.dropout", "lora_dropout"), e("ds.lora.rank", "lora_rank"),
      e("ds.lora.target_modules", "target_modules"), e("ds.overlap_comm", "overlap_comm"),
      e("ds.packing_samples", "packing_samples"), e("ds.param_dtype", "param_dtype"),
      e("ds.use_liger_kernel", "use_liger_kernel"), e("ds.zero_stage", "zero_stage"), e("ds.zpg", "zpg"),
      e("eval.dataset", "eval_dataset"), e("eval.split", "eval_split"), e("eval.steps", "eval_steps"),
      e("logger.logging_steps", "logging_steps"), e("logger.tensorboard_dir", "use_tensorboard"),
      e("logger.wandb.group", "wandb_group"), e("logger.wandb.key", "use_wandb"),
      e("logger.wandb.org", "wandb_org"), e("logger.wandb.project", "wandb_project"),
      e("logger.wandb.run_name", "wandb_run_name"),
      e("model.beta", "beta"), e("model.gradient_checkpointing_enable", "gradient_checkpointing"),
      e("model.gradient_checkpointing_reentrant", "gradient_checkpointing_use_reentrant"),
      e("model.ipo_enable", "ipo"), e("model.label_smoothing", "label_smoothing"), e("model.loss_type", "loss"),
      e("model.margin_loss_enable", "margin_loss"), e("model.model_name_or_path", "pretrain"),
      e("model.nll_loss_coef", "nll_loss_coef"), e("model.pretrain_mode_enable", "pretrain_mode"),
      e("ref.model_name_or_path", "ref_pretrain"), e("ref.num_gpus_per_node", "ref_num_gpus_per_node"),
      e("reward.clip_range", "reward_clip_range"), e("reward.model_name_or_path", "reward_pretrain"),
      e("reward.normalize_enable", "normalize_reward"), e("reward.num_gpus_per_node", "reward_num_gpus_per_node"),
      e("reward.overlong_buffer_len", "overlong_buffer_len"),
      e("reward.overlong_penalty_factor", "overlong_penalty_factor"), e("reward.remote_url", "remote_rm_url"),
      e("rollout.batch_size", "rollout_batch_size"), e("rollout.max_new_tokens", "max_new_tokens"),
      e("rollout.micro_batch_size", "micro_rollout_batch_size"),
      e("rollout.n_samples_per_prompt", "n_samples_per_prompt"), e("rollout.temperature", "temperature"),
      e("rollout.top_p", "top_p"),
      e("train.async_enable", "async_train"), e("train.batch_size", "train_batch_size"),
      e("train.max_epochs", "max_epochs"), e("train.micro_batch_size", "micro_train_batch_size"),
      e("train.num_episodes", "num_episodes"), e("train.seed", "seed"),
      e("vllm.enable_prefix_caching", "enable_prefix_caching"), e("vllm.enable_sleep", "vllm_enable_sleep"),
      e("vllm.enforce_eager", "enforce_eager"), e("vllm.gpu_memory_utilization", "vllm_gpu_memory_utilization"),
      e("vllm.sync_backend", "vllm_sync_backend"), e("vllm.sync_with_ray", "vllm_sync_with_ray"),
      e("vllm.tensor_parallel_size", "vllm_tensor_parallel_size"));

  private OpenRlhfDottedNames() {}

  /** The flat name of this dotted OpenRLHF name (underscores), if it is one rlhf-node reads. */
  public static Optional<String> lookup(String dotted) {
    return Optional.ofNullable(FLAT.get(dotted));
  }

  /** Every mapped dotted name with its flat name, for tests. */
  public static Map<String, String> all() {
    return FLAT;
  }

  /**
   * The name under which {@link TrainSettings#parse(List, String)} looks up the flag at {@code args[i]}: the
   * flat name of a mapped dotted OpenRLHF name, else the name as typed (which includes our own paths, such as
   * {@code --train.seed}). Throws, naming the flag as typed, where its flat name is refused, is an alias the
   * command lacks or one whose value is refused, or where its policy and critic spellings disagree.
   */
  static String flatName(List<String> args, int i, String command, Config defaults) {
    String arg = args.get(i);
    int eq = arg.indexOf('=');
    String typed = eq < 0 ? arg.substring(2) : arg.substring(2, eq);
    String key = typed.replace('-', '_');
    String flat = FLAT.get(key);
    if (flat == null || isSetting(defaults, key)) {
      return typed;
    }
    if (OpenRlhfAliases.lookup(flat).isPresent()) {
      checkAlias(args, i, typed, flat, eq < 0 ? null : arg.substring(eq + 1), command);
    } else if (InformationalFlags.lookup(flat).isEmpty() && !isLeaf(defaults, flat)) {
      failAsFlat(typed, flat, command);
    }
    checkPartner(args, i, typed, key, flat);
    return flat;
  }

  /** Reads the alias as its flat name would be read, so that its errors can name the dotted flag. */
  private static void checkAlias(List<String> args, int i, String typed, String flat, String inline, String command) {
    Map<String, List<String>> given = new HashMap<>();
    try {
      OpenRlhfAliases.read(args, i, flat, inline, command, given);
      // checked as when switched on: the correction's type and thresholds only warn without the switch
      given.putIfAbsent(CORRECTION_SWITCH, List.of());
      OpenRlhfAliases.assignments(given);
    } catch (IllegalArgumentException e) {
      throw renamed(e, flat, typed);
    }
  }

  /** Throws the error the flat flag gives (a refusal), naming the dotted flag instead. */
  private static void failAsFlat(String typed, String flat, String command) {
    try {
      TrainSettings.parse(List.of("--" + flat, "x"), command);
    } catch (IllegalArgumentException e) {
      throw renamed(e, flat, typed);
    }
  }

  private static IllegalArgumentException renamed(IllegalArgumentException e, String flat, String typed) {
    String message = e.getMessage().replaceAll("--" + Pattern.quote(flat) + "(?![\\w.-])",
        Matcher.quoteReplacement("--" + typed));
    return new IllegalArgumentException(message, e);
  }

  /**
   * OpenRLHF's {@code --actor.X} and {@code --critic.X} that stand for one setting here: given both, they must
   * agree; given one, it sets the critic's (or the policy's) too, which is logged.
   */
  private static void checkPartner(List<String> args, int i, String typed, String key, String flat) {
    String partner = key.startsWith("actor.") ? "critic." + key.substring(6)
        : key.startsWith("critic.") ? "actor." + key.substring(7) : null;
    if (partner == null || !flat.equals(FLAT.get(partner))) {
      return;
    }
    List<String> mine = values(args, i);
    for (int j = 0; j < args.size(); j++) {
      if (j != i && args.get(j).startsWith("--") && nameAt(args, j).replace('-', '_').equals(partner)) {
        List<String> theirs = values(args, j);
        if (!same(mine, theirs)) {
          throw new IllegalArgumentException(spelled(typed, mine) + " and " + spelled(nameAt(args, j), theirs)
              + " disagree: rlhf-node has one --" + flat + " for the policy and the critic; give both the same value");
        }
        return;
      }
    }
    LOG.warn("{} is {} here, one setting for the policy and the critic (OpenRLHF >= v0.10.2 leaves --{} at"
        + " its default)", spelled(typed, mine), spelled(flat, mine), partner);
  }

  private static String nameAt(List<String> args, int j) {
    String arg = args.get(j);
    int eq = arg.indexOf('=');
    return eq < 0 ? arg.substring(2) : arg.substring(2, eq);
  }

  /** The values of the flag at {@code args[j]}: inline (comma list) or up to the next flag. */
  private static List<String> values(List<String> args, int j) {
    String arg = args.get(j);
    int eq = arg.indexOf('=');
    if (eq >= 0) {
      return List.of(arg.substring(eq + 1).split(","));
    }
    List<String> out = new ArrayList<>();
    for (int k = j + 1; k < args.size() && !args.get(k).startsWith("--"); k++) {
      out.add(args.get(k));
    }
    return out;
  }

  /** Whether two value lists are the same setting (numbers compared as numbers: 1 = 1.0). */
  private static boolean same(List<String> a, List<String> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int k = 0; k < a.size(); k++) {
      if (!a.get(k).equals(b.get(k)) && !sameNumber(a.get(k), b.get(k))) {
        return false;
      }
    }
    return true;
  }

  private static boolean sameNumber(String a, String b) {
    try {
      return Double.parseDouble(a) == Double.parseDouble(b);
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String spelled(String name, List<String> values) {
    return "--" + name + (values.isEmpty() ? "" : " " + String.join(" ", values));
  }

  /** Whether {@code path} is a setting of reference.conf (not a section). */
  private static boolean isSetting(Config defaults, String path) {
    return defaults.hasPathOrNull(path)
        && (defaults.getIsNull(path) || defaults.getValue(path).valueType() != ConfigValueType.OBJECT);
  }

  /** Whether {@code name} is the leaf name of a setting, as a flat flag names it. */
  private static boolean isLeaf(Config defaults, String name) {
    return defaults.root().entrySet().stream().anyMatch(section -> section.getValue().valueType()
        == ConfigValueType.OBJECT && isSetting(defaults, section.getKey() + "." + name));
  }

  private static Map.Entry<String, String> e(String dotted, String flat) {
    return Map.entry(dotted, flat);
  }
}
