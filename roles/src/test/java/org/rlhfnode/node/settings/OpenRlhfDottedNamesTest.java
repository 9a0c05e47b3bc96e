package org.rlhfnode.node.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.rlhfnode.node.cli.CliTables;
import org.junit.jupiter.api.TestFactory;

/**
 * OpenRLHF's dotted flag names (v0.10.2 and later) do what the flat names they replaced do: each mapped name
 * parses to the settings of its flat name for every command, or fails with the flat name's error naming the
 * dotted flag; names of features not supported yet stay unknown options; and the table of docs/cli.md lists
 * every dotted name with the flat name and status {@link OpenRlhfDottedNames} and the parser give it.
 */
class OpenRlhfDottedNamesTest {
  private static final String FLAGS = "## OpenRLHF's flags";
  private static final String DOTTED = "## OpenRLHF's dotted flags (v0.10.2 and later)";
  private static final Pattern CODE = Pattern.compile("`([^`]+)`");
  private static final Config DEFAULTS = ConfigFactory.defaultReference().getConfig("rlhf");
  private static final List<String> STATUSES = List.of("same", "alias", "no effect here", "refused",
      "not supported yet", "ours");
  private static final List<String> COMMANDS = List.of("train sft", "train rm", "train dpo", "train kto",
      "train csft", "train ppo", "node", "plan", "rejection-sample");
  private static final String SWITCH = "enable_vllm_is_correction";
  private static final String SWITCH_DOTTED = "algo.advantage.is_correction_enable";

  /** One row of the dotted table: OpenRLHF's dotted name, its scripts, its flat name (null: none), status. */
  record Row(String dotted, String scripts, String flat, String status) {}

  @TestFactory
  Stream<DynamicTest> everyMappedNameParsesAsItsFlatNameForEveryCommand() {
    return OpenRlhfDottedNames.all().entrySet().stream().sorted(Map.Entry.comparingByKey())
        .filter(e -> !isWandb(e.getValue()))
        .map(e -> DynamicTest.dynamicTest("--" + e.getKey() + " = --" + e.getValue(),
            () -> assertSameAsFlat(e.getKey(), e.getValue())));
  }

  /**
   * For every command, the dotted spelling gives the flat one's settings, or its error: naming the dotted flag
   * where the flag itself is refused, as the flat one where a check after parsing names the setting.
   */
  private static void assertSameAsFlat(String dotted, String flat) {
    boolean switched = flat.equals("vllm_is_correction_type") || flat.equals("vllm_is_truncated_threshold");
    List<String> value = valueFor(flat);
    List<String> ours = concat(switched ? List.of("--" + SWITCH_DOTTED) : List.of(),
        concat(List.of("--" + dotted), value));
    List<String> theirs = concat(switched ? List.of("--" + SWITCH) : List.of(),
        concat(List.of("--" + flat), value));
    int parsed = 0;
    for (String command : COMMANDS) {
      String flatOutcome = outcome(theirs, command);
      String actual = outcome(ours, command);
      if (!actual.equals(flatOutcome)) { // a check after parsing (SettingScopes) names the setting, not the flag
        assertEquals(renamed(renamed(flatOutcome, flat, dotted), SWITCH, SWITCH_DOTTED), actual,
            String.join(" ", ours) + " for " + command);
      }
      parsed += actual.startsWith("error: ") ? 0 : 1;
    }
    assertTrue(parsed > 0, String.join(" ", ours) + " parses for some command");
  }

  @Test
  void refusedNamesFailAsTheirFlatNamesDoNamingTheDottedFlag() {
    int refused = 0;
    for (Map.Entry<String, String> e : OpenRlhfDottedNames.all().entrySet()) {
      if (!isWandb(e.getValue())) {
        continue;
      }
      refused++;
      for (String command : COMMANDS) {
        String error = outcome(List.of("--" + e.getKey(), "x"), command);
        assertTrue(error.startsWith("error: --" + e.getKey() + ": Weights & Biases is not supported"), error);
        assertEquals(renamed(outcome(List.of("--" + e.getValue(), "x"), command), e.getValue(), e.getKey()), error);
      }
    }
    assertEquals(5, refused, "--use_wandb and the four --wandb_* flags");
  }

  @Test
  void namesOfFeaturesNotSupportedYetAreUnknownOptionsAsTheirFlatNamesAre() throws Exception {
    int unsupported = 0;
    for (Row r : dottedRows()) {
      if (!r.status().startsWith("not supported yet")) {
        continue;
      }
      unsupported++;
      assertFalse(OpenRlhfDottedNames.lookup(r.dotted()).isPresent(), r.dotted() + " is not mapped");
      for (String command : List.of("train sft", "train ppo")) {
        String error = outcome(List.of("--" + r.dotted(), "1"), command);
        assertTrue(error.startsWith("error: unknown option --" + r.dotted() + " "), error);
        if (r.flat() != null) {
          assertEquals(renamed(outcome(List.of("--" + r.flat(), "1"), command), r.flat(), r.dotted()), error);
        }
      }
    }
    assertTrue(unsupported > 50, "the table lists the dotted names of missing features, found " + unsupported);
  }

  @Test
  void errorsAboutADottedAliasNameTheFlagAsTyped() {
    assertError("--ds.param_dtype fp16 is not supported", "train sft", "--ds.param_dtype", "fp16");
    assertError("--vllm.sync_backend nccl is not supported", "train ppo", "--vllm.sync_backend", "nccl");
    assertError("unknown option --rollout.max_new_tokens for train sft: ", "train sft",
        "--rollout.max_new_tokens", "5");
    assertError("--algo.advantage.is_correction_type: 'bogus' is none of", "train ppo",
        "--algo.advantage.is_correction_enable", "--algo.advantage.is_correction_type", "bogus");
    assertError("--algo.advantage.is_correction_threshold takes 2 values", "train ppo",
        "--algo.advantage.is_correction_threshold", "0.2");
    assertError("--ds.zero_stage needs a value", "train sft", "--ds.zero_stage");
  }

  @Test
  void policyAndCriticSpellingsOfOneSettingMustAgree() {
    TrainSettings both = TrainSettings.parse(List.of("--actor.max_norm", "0.5", "--critic.max_norm", "0.50",
        "--actor.adam.betas", "0.9", "0.98", "--critic.adam.betas=0.9,0.98"), "train ppo");
    assertEquals(0.5, both.number("train.max_norm"));
    assertEquals(List.of("0.9", "0.98"), both.list("train.adam_betas"));
    assertError("--actor.max_norm 0.5 and --critic.max_norm 0.7 disagree: rlhf-node has one --max_norm for the"
        + " policy and the critic", "train ppo", "--actor.max_norm", "0.5", "--critic.max_norm", "0.7");
    assertError("--critic.adam.weight_decay 0.1 and --actor.adam.weight_decay 0 disagree", "train ppo",
        "--critic.adam.weight_decay", "0.1", "--actor.adam.weight_decay", "0");
    List<ILoggingEvent> events = LogCapture.of(OpenRlhfDottedNames.class, () -> assertEquals(0.01,
        TrainSettings.parse(List.of("--critic.adam.weight_decay", "0.01"), "train ppo").number("train.l2")));
    assertEquals(1, events.size(), events.toString());
    assertEquals(Level.WARN, events.get(0).getLevel());
    assertTrue(events.get(0).getFormattedMessage().startsWith("--critic.adam.weight_decay 0.01 is --l2 0.01 here,"
        + " one setting for the policy and the critic"), events.get(0).getFormattedMessage());
    assertTrue(LogCapture.of(OpenRlhfDottedNames.class, () -> TrainSettings.parse(List.of("--actor.adam.lr", "1e-6",
        "--critic.adam.lr", "9e-6"), "train ppo")).isEmpty(), "the learning rates are apart");
  }

  @Test
  void ourOwnPathWinsWhereOpenRlhfsDottedNameIsOneAndIsTheSameSetting() {
    int shared = 0;
    for (Map.Entry<String, String> e : OpenRlhfDottedNames.all().entrySet()) {
      if (DEFAULTS.hasPathOrNull(e.getKey())) {
        shared++;
        assertEquals(e.getKey(), pathOf(e.getValue()), "--" + e.getKey() + " is the setting --" + e.getValue() + " is");
        List<String> args = concat(List.of("--" + e.getKey()), valueFor(e.getValue()));
        assertTrue(TrainSettings.parse(args).given(e.getKey()), String.join(" ", args));
      }
    }
    assertEquals(18, shared, "data.*, train.seed, train.max_epochs, rollout.temperature/top_p/n_samples_per_prompt");
    TrainSettings s = TrainSettings.parse(List.of("--train.micro_train_batch_size", "2", "--train.batch_size", "16"));
    assertEquals(2, s.integer("train.micro_train_batch_size"));
    assertEquals(16, s.integer("train.train_batch_size"));
  }

  @Test
  void anOpenRlhfSftCommandWithDottedNamesIsItsFlatCommand() {
    List<String> dotted = List.of("--model.model_name_or_path", "m", "--data.dataset", "d", "--data.input_key",
        "question", "--train.micro_batch_size", "2", "--train.batch_size", "8", "--ds.zero_stage", "2",
        "--ds.param_dtype", "bf16", "--adam.lr", "5e-6", "--ckpt.output_dir", "out", "--train.max_epochs", "1",
        "--data.max_len", "512", "--ds.packing_samples", "--model.gradient_checkpointing_enable",
        "--ds.attn_implementation", "flash_attention_2", "--logger.logging_steps", "1");
    List<String> flat = List.of("--pretrain", "m", "--dataset", "d", "--input_key", "question",
        "--micro_train_batch_size", "2", "--train_batch_size", "8", "--zero_stage", "2", "--param_dtype", "bf16",
        "--learning_rate", "5e-6", "--save_path", "out", "--max_epochs", "1", "--max_len", "512",
        "--packing_samples", "--gradient_checkpointing", "--attn_implementation", "flash_attention_2",
        "--logging_steps", "1");
    assertEquals(TrainSettings.parse(flat, "train sft").render(), TrainSettings.parse(dotted, "train sft").render());
  }

  @Test
  void theTableListsEveryDottedNameWithTheFlatNameAndStatusItHasHere() throws Exception {
    Map<String, String> flatStatus = flatStatuses();
    Map<String, String> accepted = new TreeMap<>();
    List<Row> rows = dottedRows();
    assertEquals(193, rows.size(), "OpenRLHF v0.11.0 has 193 dotted flags");
    for (Row r : rows) {
      if (r.flat() == null) {
        assertTrue(r.status().startsWith("not supported yet"), r.toString());
        continue;
      }
      String status = !flatStatus.containsKey(r.flat()) ? "ours" : flatStatus.get(r.flat());
      assertEquals(status, word(r.status()), r.dotted() + " has the status of --" + r.flat());
      if (status.equals("ours")) {
        assertTrue(pathOf(r.flat()) != null, r.flat() + " is a setting of ours");
      }
      if (!status.equals("not supported yet")) {
        accepted.put(r.dotted(), r.flat());
      }
    }
    assertEquals(accepted, new TreeMap<>(OpenRlhfDottedNames.all()));
  }

  private static void assertError(String start, String command, String... args) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainSettings.parse(List.of(args), command));
    assertTrue(e.getMessage().startsWith(start), e.getMessage());
  }

  /** The settings a command line gives, rendered, or {@code error: } and the message. */
  private static String outcome(List<String> args, String command) {
    try {
      return TrainSettings.parse(args, command).render();
    } catch (IllegalArgumentException e) {
      return "error: " + e.getMessage();
    }
  }

  private static String renamed(String text, String flat, String dotted) {
    return text.replaceAll("--" + Pattern.quote(flat) + "(?![\\w.-])", Matcher.quoteReplacement("--" + dotted));
  }

  private static boolean isWandb(String flat) {
    return flat.equals("use_wandb") || flat.startsWith("wandb_");
  }

  /** A value for the flat flag as a user writes it: bare for a switch, two values for a pair. */
  private static List<String> valueFor(String flat) {
    switch (flat) {
      case "async_train":
      case SWITCH:
        return List.of();
      case "vllm_is_correction_type":
        return List.of("icepop");
      case "vllm_is_truncated_threshold":
        return List.of("0.3", "4");
      case "max_new_tokens":
        return List.of("100");
      case "vllm_sync_backend":
        return List.of("gloo");
      case "param_dtype":
        return List.of("bf16");
      case "target_modules":
        return List.of("q_proj", "v_proj");
      default:
        break;
    }
    if (InformationalFlags.lookup(flat).isPresent()) {
      return InformationalFlags.lookup(flat).get().takesValue() ? List.of("1") : List.of();
    }
    String path = pathOf(flat);
    assertTrue(path != null, "--" + flat + " is a setting, an alias or a flag without effect");
    ConfigValueType type = DEFAULTS.getIsNull(path) ? ConfigValueType.STRING : DEFAULTS.getValue(path).valueType();
    return type == ConfigValueType.BOOLEAN ? List.of() : type == ConfigValueType.NUMBER ? List.of("3")
        : type == ConfigValueType.LIST ? List.of("1", "2") : List.of("x");
  }

  /** The reference.conf path of a flat name (its leaf), or null. */
  private static String pathOf(String flat) {
    for (String section : DEFAULTS.root().keySet()) {
      if (DEFAULTS.hasPathOrNull(section + "." + flat)) {
        return section + "." + flat;
      }
    }
    return null;
  }

  /** The status word of each flat flag in the table of OpenRLHF's flags, by name (without {@code --}). */
  private static Map<String, String> flatStatuses() throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    for (String[] cells : tableRows(FLAGS)) {
      out.put(firstCode(cells[0]).substring(2), word(cells[2].strip()));
    }
    return out;
  }

  private static List<Row> dottedRows() throws Exception {
    List<Row> rows = new ArrayList<>();
    for (String[] cells : tableRows(DOTTED)) {
      String flat = cells[2].contains("`") ? firstCode(cells[2]).substring(2) : null;
      rows.add(new Row(firstCode(cells[0]).substring(2), cells[1].strip(), flat, cells[3].strip()));
    }
    return rows;
  }

  /** The cells of the rows ({@code | `--...}) of the table under {@code heading} in docs/cli.md. */
  private static List<String[]> tableRows(String heading) throws Exception {
    return CliTables.rows(heading);
  }

  private static String word(String status) {
    return STATUSES.stream().filter(status::startsWith).findFirst()
        .orElseThrow(() -> new AssertionError("unknown status '" + status + "'"));
  }

  private static String firstCode(String cell) {
    Matcher m = CODE.matcher(cell);
    if (!m.find()) {
      throw new AssertionError("no `code` in '" + cell + "'");
    }
    return m.group(1);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
