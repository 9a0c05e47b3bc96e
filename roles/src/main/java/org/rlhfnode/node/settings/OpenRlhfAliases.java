package org.rlhfnode.node.settings;

import com.typesafe.config.Config;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenRLHF's spellings of settings that rlhf-node names otherwise ({@code --max_new_tokens N} is
 * {@code --generate_max_len N}, {@code --async_train} is {@code --max_staleness 1}, ...), accepted so that an
 * OpenRLHF command runs unchanged. {@link TrainSettings#parse(List, String)} reads each into the setting it
 * stands for, and only for the commands that have that setting: elsewhere it stays an unknown option. Given
 * together with our own spelling of the same setting, the two must agree; flags still win over the
 * {@code --config} file. docs/cli.md lists them as {@code alias} rows, which {@code OpenRlhfFlagsTest} checks.
 */
public final class OpenRlhfAliases {
  private static final Logger LOG = LoggerFactory.getLogger(OpenRlhfAliases.class);

  /** The commands that have a setting, as {@link TrainSettings#parse(List, String)} names them, and in words. */
  public record Scope(Set<String> commands, String words) {}

  private static final Set<String> TRAINERS = Set.of("train sft", "train rm", "train dpo", "train kto", "train csft");
  // plan takes a PPO run's own command line, so it accepts what a PPO run accepts
  private static final Scope PPO = new Scope(Set.of("train ppo", "node", "plan"),
      "train ppo, node mode (--role) and plan");
  private static final Scope GENERATING = new Scope(union(PPO.commands(), Set.of("rejection-sample")),
      "train ppo, node mode (--role), plan and rejection-sample");
  private static final Scope DATASETS = new Scope(union(TRAINERS, Set.of("rejection-sample")),
      "train sft|rm|dpo|kto|csft and rejection-sample");
  private static final Scope TRAINING = new Scope(union(TRAINERS, PPO.commands()),
      "train sft|rm|dpo|kto|csft|ppo, node mode (--role) and plan");

  /**
   * One OpenRLHF spelling: how many values it takes (0: a bare switch, as argparse's {@code store_true}),
   * the setting it stands for here, a note on differences ("" if none; for {@code --help}) and the commands
   * that have that setting.
   */
  public record Alias(String name, int values, String means, String note, Scope scope) {
    /** Whether {@code command} (as {@link TrainSettings#parse(List, String)} names it) has this setting. */
    public boolean acceptedBy(String command) {
      return scope.commands().contains(command);
    }
  }

  private static final String ENABLE = "enable_vllm_is_correction";
  private static final String TYPE = "vllm_is_correction_type";
  private static final String THRESHOLD = "vllm_is_truncated_threshold";
  private static final String NEEDS_ENABLE = "only with --" + ENABLE + "; without it no effect, as in OpenRLHF";

  private static final Map<String, Alias> ALIASES = index(
      new Alias("async_train", 0, "--max_staleness 1", "a --max_staleness >= 1 given beside it wins", PPO),
      new Alias(ENABLE, 0, "--mismatch_correction tis", "or the --" + TYPE + " given with it", PPO),
      new Alias(TYPE, 1, "--mismatch_correction X", NEEDS_ENABLE + "; seq-mask-tis is seq_mask_tis", PPO),
      new Alias(THRESHOLD, 2, "--mismatch_low LOW --mismatch_high HIGH", NEEDS_ENABLE, PPO),
      new Alias("max_new_tokens", 1, "--generate_max_len N", "", GENERATING),
      new Alias("train_split", 1, "--dataset_split S", "", DATASETS),
      new Alias("vllm_sync_backend", 1, "--weight_sync_transport gloo", "nccl is refused: no NCCL weight sync", PPO),
      new Alias("param_dtype", 1, "--bf16", "for bf16; fp16 is refused", TRAINING));

  /**
   * A setting an alias stands for: its value as a flag would give it, and which value given in our spelling
   * agrees with it (null: only the same value).
   */
  record Assignment(String flag, String path, String value, Predicate<Object> agrees) {}

  private OpenRlhfAliases() {}

  /** The alias of this OpenRLHF name (underscores), if it is one. */
  public static Optional<Alias> lookup(String name) {
    return Optional.ofNullable(ALIASES.get(name));
  }

  /** Every alias by name, for {@code --help} and tests. */
  public static Map<String, Alias> all() {
    return ALIASES;
  }

  /**
   * Reads the alias {@code --name} at {@code args[i]} (its inline value, or the values after it) into
   * {@code given} and returns the index of the last argument it used; -1 when {@code name} is no alias.
   * {@code command} null accepts every alias; otherwise one of a command without its setting is refused.
   */
  static int read(List<String> args, int i, String name, String inline, String command,
      Map<String, List<String>> given) {
    Alias alias = ALIASES.get(name.replace('-', '_'));
    if (alias == null) {
      return -1;
    }
    String flag = "--" + name;
    if (command != null && !alias.acceptedBy(command)) {
      throw new IllegalArgumentException("unknown option " + flag + " for " + command + ": OpenRLHF's " + flag
          + " is " + alias.means() + " here, a setting of " + alias.scope().words());
    }
    List<String> values = new ArrayList<>();
    if (inline != null) {
      if (alias.values() == 0) {
        throw new IllegalArgumentException(flag + " takes no value (it is a switch), got '" + inline + "'");
      }
      values.addAll(alias.values() == 1 ? List.of(inline) : List.of(inline.split(",", -1)));
    }
    while (values.size() < alias.values() && i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
      values.add(args.get(++i));
    }
    if (values.size() != alias.values()) {
      throw new IllegalArgumentException(flag + " takes " + (alias.values() == 1 ? "a value"
          : alias.values() + " values (LOW HIGH)") + ", got " + values.size());
    }
    given.put(alias.name(), List.copyOf(values));
    return i;
  }

  /**
   * Puts the settings the {@code given} aliases stand for into {@code overrides} (path → typed value).
   * One that our own spelling already set ({@code spelled}: path → the flag as written) must agree with it;
   * one that the {@code --config} file sets in agreement leaves the file's value.
   */
  static void apply(Map<String, List<String>> given, Map<String, Object> overrides, Map<String, String> spelled,
      Config file, BiFunction<String, String, Object> typed) {
    for (Assignment a : assignments(given)) {
      Object value = typed.apply(a.path(), a.value());
      Predicate<Object> agrees = a.agrees() != null ? a.agrees() : v -> same(v, value);
      if (overrides.containsKey(a.path())) {
        if (!agrees.test(overrides.get(a.path()))) {
          throw new IllegalArgumentException(a.flag() + " and " + spelled.get(a.path()) + " disagree (both set "
              + a.path() + "); give only one of them");
        }
        continue;
      }
      if (file.hasPath(a.path()) && agrees.test(file.getValue(a.path()).unwrapped())) {
        continue;
      }
      overrides.put(a.path(), value);
    }
  }

  /** The settings that the given aliases (name → values) stand for. */
  static List<Assignment> assignments(Map<String, List<String>> given) {
    List<Assignment> out = new ArrayList<>();
    given.forEach((name, values) -> {
      String flag = "--" + name + (values.isEmpty() ? "" : " " + String.join(" ", values));
      switch (name) {
        case "async_train":
          out.add(new Assignment(flag + " (max_staleness >= 1)", "ppo.max_staleness", "1",
              v -> v instanceof Number n && n.doubleValue() >= 1));
          break;
        case "max_new_tokens":
          out.add(equal(flag, "rollout.generate_max_len", integer(name, values.get(0))));
          break;
        case "train_split":
          out.add(equal(flag, "data.dataset_split", values.get(0)));
          break;
        case "vllm_sync_backend":
          out.add(equal(flag, "weight_sync.weight_sync_transport", syncBackend(values.get(0))));
          break;
        case "param_dtype":
          out.add(equal(flag, "train.bf16", bf16(values.get(0))));
          break;
        default: // the three of the mismatch correction, read together below
          break;
      }
    });
    out.addAll(mismatchCorrection(given));
    return out;
  }

  /**
   * OpenRLHF's rollout/trainer mismatch correction: {@code --enable_vllm_is_correction} switches it on, with
   * the type (default tis) and the thresholds given beside it; without the switch those two do nothing there,
   * so here they change nothing either and say so.
   */
  private static List<Assignment> mismatchCorrection(Map<String, List<String>> given) {
    List<Assignment> out = new ArrayList<>();
    String type = given.containsKey(TYPE) ? correctionType(given.get(TYPE).get(0)) : "tis";
    if (!given.containsKey(ENABLE)) {
      for (String name : List.of(TYPE, THRESHOLD)) {
        if (given.containsKey(name)) {
          LOG.warn("--{} has no effect without --{}, as in OpenRLHF (rlhf-node's own setting is"
              + " --mismatch_correction)", name, ENABLE);
        }
      }
      return out;
    }
    String enable = "--" + ENABLE + (given.containsKey(TYPE) ? " --" + TYPE + " " + given.get(TYPE).get(0) : "");
    out.add(equal(enable, "ppo.mismatch_correction", type));
    if (given.containsKey(THRESHOLD)) {
      List<String> lowHigh = given.get(THRESHOLD);
      String flag = "--" + THRESHOLD + " " + String.join(" ", lowHigh);
      out.add(equal(flag, "ppo.mismatch_low", number(THRESHOLD, lowHigh.get(0))));
      out.add(equal(flag, "ppo.mismatch_high", number(THRESHOLD, lowHigh.get(1))));
    }
    return out;
  }

  /** OpenRLHF's choices tis, icepop, seq-mask-tis (our seq_mask_tis). */
  private static String correctionType(String value) {
    switch (value) {
      case "tis":
      case "icepop":
        return value;
      case "seq-mask-tis":
      case "seq_mask_tis":
        return "seq_mask_tis";
      default:
        throw new IllegalArgumentException("--" + TYPE + ": '" + value + "' is none of OpenRLHF's choices tis,"
            + " icepop, seq-mask-tis");
    }
  }

  private static String syncBackend(String value) {
    if (value.equals("gloo")) {
      return value;
    }
    if (value.equals("nccl")) {
      throw new IllegalArgumentException("--vllm_sync_backend nccl is not supported: rlhf-node has no NCCL weight"
          + " sync yet; use --vllm_sync_backend gloo or --weight_sync_transport artery (the default)");
    }
    throw new IllegalArgumentException("--vllm_sync_backend: '" + value + "' is neither of OpenRLHF's backends"
        + " nccl, gloo; use --vllm_sync_backend gloo or --weight_sync_transport artery (the default)");
  }

  private static String bf16(String value) {
    if (value.equals("bf16")) {
      return "true";
    }
    if (value.equals("fp16")) {
      throw new IllegalArgumentException("--param_dtype fp16 is not supported: rlhf-node computes in bf16 or"
          + " float32; use --param_dtype bf16, or leave it out for float32");
    }
    throw new IllegalArgumentException("--param_dtype: '" + value + "' is neither of OpenRLHF's choices bf16,"
        + " fp16; use --param_dtype bf16, or leave it out for float32");
  }

  private static String integer(String name, String value) {
    try {
      Long.parseLong(value);
      return value;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + ": '" + value + "' is not an integer");
    }
  }

  private static String number(String name, String value) {
    try {
      Double.parseDouble(value);
      return value;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + ": '" + value + "' is not a number");
    }
  }

  /** An alias that agrees only with the same value. */
  private static Assignment equal(String flag, String path, String value) {
    return new Assignment(flag, path, value, null);
  }

  /** Whether two typed values are the same setting (numbers compared as numbers: 3 = 3.0). */
  private static boolean same(Object a, Object b) {
    return a instanceof Number n && b instanceof Number m ? n.doubleValue() == m.doubleValue()
        : String.valueOf(a).equals(String.valueOf(b));
  }

  /** The {@code --help} section listing the aliases, sorted, each with what it stands for. */
  public static String describe() {
    StringBuilder sb = new StringBuilder(String.format("%nOpenRLHF's spellings accepted for settings named"
        + " otherwise here:%n"));
    new java.util.TreeMap<>(ALIASES).forEach((name, a) -> sb.append(String.format("  --%-28s = %s%n",
        name + (a.values() == 0 ? "" : a.values() == 1 ? " V" : " LOW HIGH"),
        a.means() + (a.note().isEmpty() ? "" : " (" + a.note() + ")"))));
    return sb.toString();
  }

  private static Map<String, Alias> index(Alias... aliases) {
    Map<String, Alias> out = new LinkedHashMap<>();
    for (Alias a : aliases) {
      out.put(a.name(), a);
    }
    return Map.copyOf(out);
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> out = new java.util.HashSet<>(a);
    out.addAll(b);
    return Set.copyOf(out);
  }
}
