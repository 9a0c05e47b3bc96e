package org.rlhfnode.node.settings;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.rlhfnode.runtime.hub.HubModels;

/**
 * The settings of one {@code train} run, layered as flags > {@code --config} HOCON file >
 * {@code reference.conf} defaults. A flag is either OpenRLHF's flat name
 * ({@code --micro_train_batch_size 4}) or the dotted path ({@code --train.micro_train_batch_size 4});
 * an unknown key, in a flag or in the file, is an error naming it. A list setting takes a comma list
 * or, as OpenRLHF's two-value flags, several values ({@code --eps_clip_low_high 0.2 0.28}). OpenRLHF flags
 * that have no effect on this runtime ({@link InformationalFlags}) are accepted with one log line each, and
 * OpenRLHF's spellings of settings named otherwise here ({@link OpenRlhfAliases}) stand for those settings.
 */
public final class TrainSettings {
  private static final String ROOT = "rlhf";
  /** String settings that take several values, as OpenRLHF's {@code nargs="*"}: kept as a comma list. */
  private static final java.util.Set<String> SEVERAL_VALUES = java.util.Set.of("lora.target_modules");
  private final Config config; // the resolved rlhf subtree
  private final Config otherSections; // what the --config file holds beside rlhf { } (e.g. pekko { })
  private final java.util.Set<String> given; // the dotted keys a flag or the --config file set
  private final java.util.Set<String> read = java.util.concurrent.ConcurrentHashMap.newKeySet(); // keys looked up

  private TrainSettings(Config config, Config otherSections, java.util.Set<String> given) {
    this.config = config;
    this.otherSections = otherSections;
    this.given = java.util.Set.copyOf(given);
  }

  /** The dotted keys looked up so far through the typed getters (what the command has used). */
  public java.util.Set<String> read() {
    return java.util.Set.copyOf(read);
  }

  /** Whether {@code path} was set by a flag or the {@code --config} file (not left at its default). */
  public boolean given(String path) {
    return given.contains(path);
  }

  /** Parses run settings for any command: every {@link OpenRlhfAliases alias} is accepted. */
  public static TrainSettings parse(List<String> args) {
    return parse(args, null);
  }

  /**
   * Parses the settings of {@code command} ({@code "train sft"} ... {@code "train ppo"}, {@code "node"},
   * {@code "plan"}, {@code "rejection-sample"}): the arguments that follow it. An OpenRLHF alias of a setting
   * that command does not have is an unknown option.
   */
  public static TrainSettings parse(List<String> args, String command) {
    Config defaults = ConfigFactory.defaultReference().getConfig(ROOT);
    Map<String, String> flatToPath = flatNames(defaults);
    Map<String, Object> overrides = new LinkedHashMap<>();
    Map<String, String> spelled = new java.util.HashMap<>(); // path → the flag that set it, as written
    Map<String, List<String>> aliases = new LinkedHashMap<>(); // OpenRLHF alias → its values
    Config file = ConfigFactory.empty();
    Config others = ConfigFactory.empty();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      Option option = Option.of(arg);
      String name = option.name();
      String value = option.value();
      if (name.equals("config")) {
        value = value != null ? value : next(args, ++i, arg);
        file = readFile(Path.of(value), defaults, flatToPath);
        others = otherSections(Path.of(value));
        continue;
      }
      name = OpenRlhfDottedNames.flatName(args, i, command, defaults); // OpenRLHF's --ds.zero_stage: --zero_stage
      int used = informational(args, i, name, value);
      if (used < 0) {
        used = OpenRlhfAliases.read(args, i, name, value, command, aliases);
      }
      if (used >= 0) {
        i = used;
        continue;
      }
      String path = resolve(name, defaults, flatToPath);
      boolean isBool = typeOf(defaults, path) == ConfigValueType.BOOLEAN;
      boolean bare = value == null && (i + 1 >= args.size() || args.get(i + 1).startsWith("--"));
      if (value == null) {
        value = isBool && bare ? "true" : next(args, ++i, arg);
        // a list takes every value up to the next flag, as OpenRLHF's nargs: --eps_clip_low_high 0.2 0.28
        while ((typeOf(defaults, path) == ConfigValueType.LIST || SEVERAL_VALUES.contains(path))
            && i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
          value += "," + args.get(++i);
        }
      }
      overrides.put(path, typed(path, value, defaults));
      spelled.put(path, "--" + name + (isBool && bare ? "" : " " + value));
    }
    OpenRlhfAliases.apply(aliases, overrides, spelled, file, (path, raw) -> typed(path, raw, defaults));
    Config merged = ConfigFactory.parseMap(overrides, "command line").withFallback(file).withFallback(defaults).resolve();
    java.util.Set<String> given = new java.util.TreeSet<>(overrides.keySet());
    file.entrySet().forEach(e -> given.add(e.getKey()));
    if (command != null) {
      SettingScopes.check(command, given); // each command accepts exactly the settings it uses
    }
    return new TrainSettings(merged, others, given);
  }

  /** One command-line option: {@code --name value} or {@code --name=value} (value null when not inline). */
  private record Option(String name, String value) {
    static Option of(String arg) {
      if (!arg.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument '" + arg + "' (options look like --name value)");
      }
      int eq = arg.indexOf('=');
      return eq < 0 ? new Option(arg.substring(2), null) : new Option(arg.substring(2, eq), arg.substring(eq + 1));
    }
  }

  /**
   * Logs an OpenRLHF flag that has no effect here ({@link InformationalFlags}) and returns the index of the
   * last argument it used (its value, if it takes one); -1 when {@code name} is not such a flag.
   */
  private static int informational(List<String> args, int i, String name, String value) {
    Optional<InformationalFlags.Flag> flag = InformationalFlags.lookup(name.replace('-', '_'));
    if (flag.isEmpty()) {
      return -1;
    }
    String arg = args.get(i);
    if (value == null && flag.get().takesValue()) {
      next(args, ++i, arg);
    }
    InformationalFlags.log("--" + name, flag.get());
    return i;
  }

  private static String next(List<String> args, int i, String flag) {
    if (i >= args.size()) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args.get(i);
  }

  /** Leaf name → dotted path, for every leaf whose name is unique across sections. */
  private static Map<String, String> flatNames(Config defaults) {
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, ConfigValue> e : defaults.root().entrySet()) {
      if (e.getValue().valueType() != ConfigValueType.OBJECT) {
        continue;
      }
      for (String leaf : defaults.getConfig(e.getKey()).root().keySet()) {
        out.put(leaf, e.getKey() + "." + leaf);
      }
    }
    return out;
  }

  private static String resolve(String name, Config defaults, Map<String, String> flatToPath) {
    String key = name.replace('-', '_');
    if (key.contains(".") && defaults.hasPathOrNull(key) && !isSection(defaults, key)) {
      return key;
    }
    String path = flatToPath.get(key);
    if (path == null && isWandb(key)) {
      throw new IllegalArgumentException(wandbRefusal("--" + name));
    }
    if (path == null) {
      throw new IllegalArgumentException("unknown option --" + name + " (see --help for the settings)");
    }
    return path;
  }

  /** OpenRLHF's Weights &amp; Biases settings: {@code use_wandb} and {@code wandb_*}. */
  private static boolean isWandb(String key) {
    return key.equals("use_wandb") || key.startsWith("wandb_");
  }

  private static String wandbRefusal(String what) {
    return what + ": Weights & Biases is not supported (it needs network access, which an rlhf-node run does not"
        + " use); watch the run with --use_tensorboard DIR (TensorBoard event files) and <save_path>/report.html";
  }

    private static boolean isSection(Config c, String path) {
    return typeOf(c, path) == ConfigValueType.OBJECT;
  }

  /** The type of a default; keys that default to null take strings. */
  private static ConfigValueType typeOf(Config c, String path) {
    return c.getIsNull(path) ? ConfigValueType.STRING : c.getValue(path).valueType();
  }

  private static Object typed(String path, String raw, Config defaults) {
    ConfigValueType type = typeOf(defaults, path);
    try {
      switch (type) {
        case BOOLEAN:
          if (!raw.equals("true") && !raw.equals("false")) {
            throw new IllegalArgumentException();
          }
          return Boolean.parseBoolean(raw);
        case NUMBER:
          return raw.matches("-?\\d+") ? (Object) Long.parseLong(raw) : (Object) Double.parseDouble(raw);
        case LIST:
          return List.of(raw.split(","));
        default:
          return raw;
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--" + path + ": '" + raw + "' is not a valid " + type.name().toLowerCase());
    }
  }

  private static Config readFile(Path file, Config defaults, Map<String, String> flatToPath) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + ": config file not found");
    }
    Config c;
    try {
      c = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage());
    }
    Config rooted = c.hasPath(ROOT) ? c.getConfig(ROOT) : c;
    Config normalised = ConfigFactory.empty();
    for (Map.Entry<String, ConfigValue> e : rooted.entrySet()) {
      String path = defaults.hasPathOrNull(e.getKey()) ? e.getKey() : flatToPath.get(e.getKey());
      Optional<InformationalFlags.Flag> informational = InformationalFlags.lookup(e.getKey());
      if (path == null && informational.isPresent()) {
        InformationalFlags.log(file + ": '" + e.getKey() + "'", informational.get());
        continue;
      }
      if (path == null && isWandb(e.getKey().substring(e.getKey().lastIndexOf('.') + 1))) {
        throw new IllegalArgumentException(file + ": " + wandbRefusal("'" + e.getKey() + "'"));
      }
      if (path == null) {
        throw new IllegalArgumentException(file + ": unknown key '" + e.getKey() + "'");
      }
      normalised = normalised.withValue(path, e.getValue());
    }
    return normalised;
  }

  /** A required string; the error names the flag. */
  public String string(String path) {
    String v = optString(path);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("--" + leaf(path) + " is required");
    }
    return v;
  }

  /** A string or null when unset. */
  public String optString(String path) {
    read.add(path);
    return config.getIsNull(path) ? null : config.getString(path);
  }

  /** A required path. */
  public Path path(String path) {
    return Path.of(string(path));
  }

  /** A path or null. */
  public Path optPath(String path) {
    String v = optString(path);
    return v == null || v.isBlank() ? null : Path.of(v);
  }

  /**
   * A required model directory: the local path when it exists, else {@code org/name[@revision]} from
   * the HuggingFace hub cache ({@link HubModels}); the error names the flag and where it looked.
   */
  public Path model(String path) {
    return HubModels.resolve("--" + leaf(path), string(path));
  }

  /** An optional model directory, as {@link #model(String)}; null when unset. */
  public Path optModel(String path) {
    String v = optString(path);
    return v == null || v.isBlank() ? null : HubModels.resolve("--" + leaf(path), v);
  }

  /** A list of model directories, each as {@link #model(String)}; empty when unset. */
  public List<Path> models(String path) {
    return list(path).stream().map(v -> HubModels.resolve("--" + leaf(path), v)).toList();
  }

  public int integer(String path) {
    read.add(path);
    return config.getInt(path);
  }

  public long longValue(String path) {
    read.add(path);
    return config.getLong(path);
  }

  public double number(String path) {
    read.add(path);
    return config.getDouble(path);
  }

  public boolean bool(String path) {
    read.add(path);
    return config.getBoolean(path);
  }

  /** A list given as a HOCON list or a comma-separated string; empty when unset. */
  public List<String> list(String path) {
    read.add(path);
    if (config.getIsNull(path)) {
      return List.of();
    }
    if (config.getValue(path).valueType() == ConfigValueType.LIST) {
      List<String> out = new ArrayList<>();
      config.getList(path).forEach(v -> out.add(String.valueOf(v.unwrapped()).trim()));
      return out;
    }
    List<String> out = new ArrayList<>();
    for (String s : config.getString(path).split(",")) {
      if (!s.isBlank()) {
        out.add(s.trim());
      }
    }
    return out;
  }

  /**
   * The sections of the {@code --config} file outside {@code rlhf { }} (e.g. {@code pekko { }} for a node's
   * actor system); empty without a file or when the file lists its settings without the {@code rlhf} root.
   */
  public Config otherSections() {
    return otherSections;
  }

  private static Config otherSections(Path file) {
    Config c = ConfigFactory.parseFile(file.toFile());
    return c.hasPath(ROOT) ? c.withoutPath(ROOT) : ConfigFactory.empty();
  }

  /** The effective settings under their {@code rlhf} root, for readers of whole sections. */
  public Config asConfig() {
    return config.atPath(ROOT);
  }

  /** The effective settings as HOCON text, for the run directory. */
  public String render() {
    return config.root().render(com.typesafe.config.ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
  }

  private static String leaf(String path) {
    return path.substring(path.lastIndexOf('.') + 1);
  }

  /** Every setting with its default, for {@code --help}. */
  public static String describe() {
    Config defaults = ConfigFactory.defaultReference().getConfig(ROOT);
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, ConfigValue> e : new TreeMap<>(Map.copyOf(asMap(defaults))).entrySet()) {
      sb.append(String.format("  --%-28s (or --%s)  default: %s%n", leaf(e.getKey()), e.getKey(),
          e.getValue().render()));
      java.util.List<String> comments = e.getValue().origin().comments();
      String about = comments.isEmpty() ? "" : comments.get(comments.size() - 1).strip(); // the key's own comment
      if (!about.isEmpty()) {
        sb.append("        ").append(about).append(System.lineSeparator());
      }
    }
    return sb.append(InformationalFlags.describe()).append(OpenRlhfAliases.describe()).toString();
  }

  private static Map<String, ConfigValue> asMap(Config c) {
    Map<String, ConfigValue> m = new LinkedHashMap<>();
    c.root().forEach((section, v) -> {
      if (v.valueType() == ConfigValueType.OBJECT) {
        c.getConfig(section).root().forEach((k, leafValue) -> m.put(section + "." + k, leafValue));
      }
    });
    return m;
  }
}
