package org.rlhfnode.node.settings;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which command uses which setting of {@code reference.conf}: each command accepts exactly the settings it
 * uses. One it does not use, given as a flag or in the {@code --config} file, is an error naming the setting
 * and the commands that have it (with what to use instead, where there is something); one that OpenRLHF's
 * own script for that job takes but that changes nothing here is accepted with one WARN line saying why.
 * {@code SettingScopesTest} checks that every setting belongs to some command and that each command reads
 * every setting of its scope.
 */
public final class SettingScopes {
  private static final Logger LOG = LoggerFactory.getLogger(SettingScopes.class);

  public static final String SFT = "train sft";
  public static final String RM = "train rm";
  public static final String DPO = "train dpo";
  public static final String KTO = "train kto";
  public static final String CSFT = "train csft";
  public static final String PPO = "train ppo";
  public static final String NODE = "node";
  public static final String PLAN = "plan";
  public static final String REJECTION_SAMPLE = "rejection-sample";
  /** Every command that parses run settings. */
  public static final List<String> COMMANDS = List.of(SFT, RM, DPO, KTO, CSFT, PPO, NODE, PLAN, REJECTION_SAMPLE);
  private static final List<String> OFFLINE = List.of(SFT, RM, DPO, KTO, CSFT);
  /** A PPO run: {@code plan} takes a PPO run's own command line. */
  private static final List<String> PPO_RUN = List.of(PPO, NODE, PLAN);

  /** The sections of reference.conf that hold run settings (the file has others, e.g. the wire protocol's). */
  private static final List<String> SECTIONS = List.of("model", "data", "train", "algo", "rollout", "lora", "ppo",
      "placement", "weight_sync");
  private static final Map<String, Set<String>> SCOPES = scopes();
  /** What a PPO run takes instead of an offline trainer's setting. */
  private static final Map<String, String> PPO_INSTEAD = ppoInstead();
  /** Settings a command accepts although they change nothing there, with the reason logged. */
  private static final Map<String, Map<String, String>> NO_EFFECT = noEffect();

  private SettingScopes() {}

  private static Map<String, Set<String>> scopes() {
    Config defaults = ConfigFactory.defaultReference().getConfig("rlhf");
    Map<String, Set<String>> out = new LinkedHashMap<>();
    for (String section : SECTIONS) {
      defaults.getConfig(section).root().keySet().forEach(k -> out.put(section + "." + k, new TreeSet<>())); // nulls too
    }
    for (String key : out.keySet()) {
      String section = key.substring(0, key.indexOf('.'));
      switch (section) {
        case "ppo", "placement", "weight_sync" -> out.get(key).addAll(PPO_RUN);
        case "lora" -> {
          out.get(key).addAll(OFFLINE);
          if (!key.equals("lora.lora_path")) {
            out.get(key).addAll(PPO_RUN);
          }
        }
        case "train" -> {
          out.get(key).addAll(OFFLINE);
          if (!List.of("train.ranks", "train.learning_rate", "train.lr_scheduler", "train.lr_warmup_ratio",
              "train.max_steps", "train.logging_steps").contains(key)) {
            out.get(key).addAll(PPO_RUN);
          }
        }
        case "rollout" -> {
          out.get(key).add(REJECTION_SAMPLE);
          if (!key.equals("rollout.output")) {
            out.get(key).addAll(PPO_RUN);
          }
        }
        default -> { } // model, data, algo: per key below
      }
    }
    use(out, OFFLINE, "model.pretrain", "model.device", "model.threads", "data.dataset", "data.dataset_probs",
        "data.dataset_split", "data.eval_dataset", "data.eval_split", "data.max_samples", "data.max_len",
        "data.apply_chat_template", "data.input_template");
    use(out, List.of(SFT), "data.input_key", "data.output_key", "data.pretrain_mode");
    use(out, List.of(RM), "data.prompt_key", "data.chosen_key", "data.rejected_key", "data.margin_key", "algo.loss",
        "algo.margin_loss");
    use(out, List.of(DPO), "data.prompt_key", "data.chosen_key", "data.rejected_key", "model.ref_pretrain",
        "algo.beta", "algo.label_smoothing", "algo.ipo", "algo.nll_loss_coef", "algo.precompute_ref_log_probs");
    use(out, List.of(KTO), "data.input_key", "data.output_key", "data.label_key", "model.ref_pretrain", "algo.beta",
        "algo.desirable_loss_weight", "algo.undesirable_loss_weight");
    use(out, List.of(CSFT), "data.input_key", "data.output_key", "model.reward_pretrain", "algo.normalize_reward");
    use(out, PPO_RUN, "model.pretrain", "model.ref_pretrain", "model.reward_pretrain", "model.threads",
        "data.input_key", "data.apply_chat_template", "data.input_template", "data.label_key", "data.max_samples",
        "data.eval_split", "algo.normalize_reward");
    use(out, List.of(REJECTION_SAMPLE), "model.pretrain", "model.device", "model.threads", "model.reward_pretrain",
        "data.dataset", "data.dataset_split", "data.input_key", "data.max_samples", "data.apply_chat_template",
        "train.seed", "train.packing_samples");
    out.replaceAll((k, v) -> Set.copyOf(v));
    return Map.copyOf(out);
  }

  private static void use(Map<String, Set<String>> scopes, List<String> commands, String... keys) {
    for (String k : keys) {
      Set<String> s = scopes.get(k);
      if (s == null) {
        throw new IllegalStateException("SettingScopes names " + k + ", which reference.conf lacks");
      }
      s.addAll(commands);
    }
  }

  private static Map<String, String> ppoInstead() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("lora.lora_path", "PPO attaches fresh adapters (--lora_rank, --lora_alpha, --target_modules, "
        + "--lora_dropout); to start from trained ones, merge them into the model given as --pretrain");
    String constant = "PPO's learning rates are constant (--actor_learning_rate, --critic_learning_rate); "
        + "no schedule or warm-up applies to them";
    m.put("train.lr_scheduler", constant);
    m.put("train.lr_warmup_ratio", constant);
    m.put("train.learning_rate", "PPO takes --actor_learning_rate and --critic_learning_rate");
    m.put("train.max_steps", "PPO stops after --max_iterations iterations or --num_episodes passes");
    m.put("train.ranks", "PPO's trainers take --actor_num_gpus_per_node and --critic_num_gpus_per_node");
    m.put("data.max_len", "PPO bounds sequences with --prompt_max_len and --generate_max_len");
    String prompts = "PPO reads its prompts from --prompt_data (mixed by --prompt_data_probs) and held-out "
        + "prompts from --eval_prompt_data";
    for (String k : List.of("dataset", "dataset_probs", "eval_dataset", "dataset_split")) {
      m.put("data." + k, prompts);
    }
    m.put("model.device", "each PPO role has its device group: --actor_devices, --critic_devices, --rollout_devices, "
        + "--ref_devices, --reward_devices");
    return Map.copyOf(m);
  }

  private static Map<String, Map<String, String>> noEffect() {
    Map<String, Map<String, String>> m = new LinkedHashMap<>();
    for (String c : PPO_RUN) {
      m.put(c, Map.of("train.logging_steps", "a PPO run writes one metrics.jsonl row per iteration"));
    }
    return Map.copyOf(m);
  }

  /** The commands that use {@code key} (a dotted path of reference.conf). */
  public static Set<String> commandsOf(String key) {
    Set<String> s = SCOPES.get(key);
    if (s == null) {
      throw new IllegalArgumentException("no setting " + key);
    }
    return s;
  }

  /** The settings {@code command} uses. */
  public static Set<String> scopeOf(String command) {
    Set<String> out = new TreeSet<>();
    SCOPES.forEach((k, v) -> {
      if (v.contains(command)) {
        out.add(k);
      }
    });
    return out;
  }

  /** What {@code command} takes instead of {@code key}, a setting it refuses; null when there is nothing to name. */
  public static String insteadOf(String command, String key) {
    return PPO_RUN.contains(command) ? PPO_INSTEAD.get(key) : null;
  }

  /** Whether {@code command} accepts {@code key} although it changes nothing there. */
  public static boolean noEffect(String command, String key) {
    return NO_EFFECT.getOrDefault(command, Map.of()).containsKey(key);
  }

  /**
   * Refuses the first of the {@code given} settings that {@code command} does not use, naming it and the
   * commands that have it; logs one WARN line for each one accepted without effect.
   */
  static void check(String command, Set<String> given) {
    for (String key : new TreeSet<>(given)) {
      Set<String> owners = SCOPES.get(key);
      if (owners == null || owners.contains(command)) {
        continue;
      }
      String flag = "--" + key.substring(key.indexOf('.') + 1) + " (" + key + ")";
      String why = NO_EFFECT.getOrDefault(command, Map.of()).get(key);
      if (why != null) {
        LOG.warn("{} has no effect for {}: {}", flag, command, why);
        continue;
      }
      boolean ppo = PPO_RUN.contains(command);
      String instead = insteadOf(command, key);
      throw new IllegalArgumentException(flag + " is a setting of " + describe(owners) + " that "
          + (ppo ? "a PPO run" : command) + " does not use" + (instead == null ? "" : ": " + instead));
    }
  }

  private static String describe(Set<String> owners) {
    if (owners.isEmpty()) {
      return "no command";
    }
    List<String> parts = new java.util.ArrayList<>();
    Set<String> rest = new TreeSet<>(owners);
    if (rest.containsAll(OFFLINE)) {
      parts.add("the offline trainers (train sft|rm|dpo|kto|csft)");
      OFFLINE.forEach(rest::remove);
    }
    if (rest.containsAll(PPO_RUN)) {
      parts.add("a PPO run (train ppo, node mode, plan)");
      PPO_RUN.forEach(rest::remove);
    }
    parts.addAll(rest);
    return String.join(", ", parts);
  }
}
