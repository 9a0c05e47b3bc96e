package org.rlhfnode.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.cluster.NodeAddress;
import org.rlhfnode.node.settings.InformationalFlags;
import org.rlhfnode.node.settings.LogCapture;
import org.rlhfnode.node.settings.OpenRlhfAliases;
import org.rlhfnode.node.settings.SettingScopes;
import org.rlhfnode.node.settings.TrainSettings;

/**
 * The table of OpenRLHF's flags in docs/cli.md says, for every flag, what rlhf-node does with it; each row is
 * checked here against {@link TrainSettings#parse}, so the table cannot silently go stale.
 */
class OpenRlhfFlagsTest {
  private static final String SECTION = "## OpenRLHF's flags";
  private static final Pattern CODE = Pattern.compile("`([^`]+)`");
  private static final Config DEFAULTS = ConfigFactory.defaultReference().getConfig("rlhf");

  @TempDir
  Path tmp;

  /** One row: the OpenRLHF flag ({@code --name}), the scripts that have it, its status cell and note. */
  record Row(String flag, String scripts, String status, String note) {}

  static List<Row> rows() throws Exception {
    List<Row> rows = new ArrayList<>();
    for (String[] cells : CliTables.rows(SECTION)) {
      rows.add(new Row(firstCode(cells[0]), cells[1].strip(), cells[2].strip(), cells[3].strip()));
    }
    return rows;
  }

  @TestFactory
  Stream<DynamicTest> everyRowSaysWhatTheSettingsParserDoes() throws Exception {
    List<Row> rows = rows();
    assertTrue(rows.size() > 150, "the table lists OpenRLHF's flags, found " + rows.size());
    return rows.stream().map(r -> DynamicTest.dynamicTest(r.flag() + ": " + r.status(), () -> check(r)));
  }

  private void check(Row r) {
    String s = r.status();
    if (s.startsWith("same")) {
      String path = firstCode(s);
      List<String> value = valueFor(path);
      assertEquals(render(concat(List.of("--" + path), joined(value))), render(concat(List.of(r.flag()), value)),
          r.flag() + " is the setting " + path);
      for (String command : commands(r.scripts())) { // OpenRLHF's script takes it: used, logged, or refused saying why
        boolean refused = SettingScopes.insteadOf(command, path) != null && r.note().contains("refuse");
        assertTrue(SettingScopes.commandsOf(path).contains(command) || SettingScopes.noEffect(command, path) || refused,
            r.flag() + " is refused by " + command + ", whose OpenRLHF script takes it");
      }
    } else if (s.startsWith("alias")) {
      checkAlias(r);
    } else if (s.equals("no effect here")) {
      InformationalFlags.Flag f = InformationalFlags.lookup(r.flag().substring(2)).orElseThrow(
          () -> new AssertionError(r.flag() + " is not an informational flag"));
      List<String> args = f.takesValue() ? List.of(r.flag(), "1", "--seed", "7") : List.of(r.flag(), "--seed", "7");
      assertEquals(render(List.of("--seed", "7")), render(args), r.flag() + " changes no setting");
    } else if (s.equals("refused")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> TrainSettings.parse(List.of(r.flag(), "x")));
      assertTrue(e.getMessage().startsWith(r.flag() + ": ") && e.getMessage().contains("is not supported"),
          e.getMessage());
    } else if (s.equals("not supported yet")) {
      assertUnknown(r.flag());
    } else {
      throw new AssertionError("unknown status '" + s + "' of " + r.flag());
    }
  }

  /** Every command that parses run settings, as {@link TrainSettings#parse(List, String)} names it. */
  private static final List<String> COMMANDS = List.of("train sft", "train rm", "train dpo", "train kto",
      "train csft", "train ppo", "node", "plan", "rejection-sample");

  /**
   * An alias row's OpenRLHF command line and ours parse to the same settings, which differ from the defaults,
   * for every command that has the setting (at least those of the OpenRLHF scripts with the flag); for the
   * other commands the alias is an unknown option.
   */
  private static void checkAlias(Row r) {
    List<String> codes = codes(r.status());
    assertEquals(2, codes.size(), "alias: `OpenRLHF's args` = `ours`, got " + r.status());
    List<String> openRlhf = List.of(codes.get(0).split(" "));
    List<String> ours = List.of(codes.get(1).split(" "));
    assertTrue(openRlhf.contains(r.flag()), r.flag() + " in " + openRlhf);
    OpenRlhfAliases.Alias alias = OpenRlhfAliases.lookup(r.flag().substring(2)).orElseThrow(
        () -> new AssertionError(r.flag() + " is no alias"));
    assertTrue(!render(ours).equals(render(List.of())), ours + " changes a setting");
    assertEquals(render(ours), render(openRlhf), String.join(" ", openRlhf) + " is " + String.join(" ", ours));
    for (String command : commands(r.scripts())) {
      assertTrue(alias.acceptedBy(command), r.flag() + " for " + command);
    }
    for (String command : COMMANDS) {
      if (alias.acceptedBy(command)) {
        assertEquals(TrainSettings.parse(ours, command).render(), TrainSettings.parse(openRlhf, command).render(),
            String.join(" ", openRlhf) + " is " + String.join(" ", ours) + " for " + command);
      } else {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> TrainSettings.parse(openRlhf, command));
        assertTrue(e.getMessage().startsWith("unknown option " + openRlhf.get(0) + " for " + command + ": "),
            e.getMessage());
      }
    }
  }

  /** Our commands that run OpenRLHF's scripts of the {@code scripts} cell ({@code all}: the five). */
  private static List<String> commands(String scripts) {
    List<String> out = new ArrayList<>();
    List<String> names = scripts.equals("all") ? List.of("sft", "rm", "dpo", "kto", "ppo") : List.of(scripts.split(" "));
    for (String script : names) {
      out.add("train " + script);
      if (script.equals("ppo")) {
        out.add("node");
      }
    }
    return out;
  }

  @Test
  void eachCommandNamesItselfSoAnAliasOfASettingItLacksIsAnUnknownOption() {
    assertUnknownFor("train sft", CliTest.run("train", "sft", "--async_train"));
    assertUnknownFor("train ppo", CliTest.run("train", "ppo", "--train_split", "test"));
    assertUnknownFor("node", CliTest.run("--role", "all", "--train_split", "test"));
    assertUnknownFor("plan", CliTest.run("plan", "--train_split", "test"));
    assertUnknownFor("rejection-sample", CliTest.run("rejection-sample", "--vllm_sync_backend", "gloo"));
  }

  @Test
  void inNodeModeABareIntegerSeedIsTheRunSeedAndHostPortANodeToJoin() {
    NodeCommand.Seeds s = NodeCommand.Seeds.of(List.of("42", "h:2552"), List.of("--pretrain", "p"));
    assertEquals(List.of(new NodeAddress("h", 2552)), s.nodes());
    assertEquals(42L, TrainSettings.parse(s.settings(), "node").longValue("train.seed"));
    assertEquals(List.of("--pretrain", "p"), NodeCommand.Seeds.of(List.of("h:2552"), List.of("--pretrain", "p"))
        .settings());
    for (List<String> twice : List.of(List.of("--seed", "1", "--seed", "2"), List.of("--seed", "1", "--train.seed", "2"))) {
      CliTest.Run run = CliTest.run(concat(List.of("--role", "all"), twice).toArray(new String[0]));
      assertEquals(2, run.code(), run.err());
      assertTrue(run.err().contains("give the run's random seed once"), run.err());
    }
  }

  private static void assertUnknownFor(String command, CliTest.Run run) {
    assertEquals(2, run.code(), run.err());
    assertTrue(run.err().startsWith("error: unknown option --") && run.err().contains(" for " + command + ": "),
        run.err());
    assertEquals(1, run.err().strip().lines().count(), run.err());
  }

  @Test
  void everyAliasIsInTheTable() throws Exception {
    Set<String> documented = new TreeSet<>();
    rows().stream().filter(r -> r.status().startsWith("alias")).forEach(r -> documented.add(r.flag().substring(2)));
    assertEquals(new TreeSet<>(OpenRlhfAliases.all().keySet()), documented);
  }

  @Test
  void everyInformationalFlagIsInTheTableAsHavingNoEffect() throws Exception {
    Set<String> documented = new TreeSet<>();
    rows().stream().filter(r -> r.status().equals("no effect here")).forEach(r -> documented.add(r.flag().substring(2)));
    assertEquals(new TreeSet<>(InformationalFlags.all().keySet()), documented);
  }

  @Test
  void anInformationalFlagLogsOneLineSayingWhyAndTakesItsValue() {
    List<ILoggingEvent> events = capture(() -> TrainSettings.parse(List.of("--zpg", "8", "--flash_attn",
        "--seed", "3")));
    assertEquals(2, events.size(), events.toString());
    assertEquals(Level.WARN, events.get(0).getLevel());
    assertTrue(events.get(0).getFormattedMessage().startsWith("--zpg has no effect here: "),
        events.get(0).getFormattedMessage());
    assertTrue(events.get(1).getFormattedMessage().startsWith("--flash_attn has no effect here: "),
        events.get(1).getFormattedMessage());
  }

  @Test
  void anInformationalKeyInTheConfigFileIsLoggedNotRefused() throws Exception {
    Path file = tmp.resolve("run.conf");
    Files.writeString(file, "rlhf { vllm_enable_sleep = true, train { seed = 5 } }\n");
    List<ILoggingEvent> events = capture(() -> assertEquals(5,
        TrainSettings.parse(List.of("--config", file.toString())).integer("train.seed")));
    assertEquals(1, events.size(), events.toString());
    assertTrue(events.get(0).getFormattedMessage().contains("'vllm_enable_sleep' has no effect here"),
        events.get(0).getFormattedMessage());
  }

  @Test
  void helpListsTheInformationalFlags() {
    String help = TrainSettings.describe();
    for (String name : InformationalFlags.all().keySet()) {
      assertTrue(help.contains("--" + name + " "), name + " in --help");
    }
  }

  private static List<ILoggingEvent> capture(Runnable action) {
    return LogCapture.of(InformationalFlags.class, action);
  }

  private static void assertUnknown(String flag) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainSettings.parse(List.of(flag, "1")));
    assertTrue(e.getMessage().startsWith("unknown option " + flag + " "), e.getMessage());
  }

  /** A value for the setting as a user writes it: bare for a switch, two values for a list. */
  private static List<String> valueFor(String path) {
    assertTrue(DEFAULTS.hasPathOrNull(path), path + " is a setting of reference.conf");
    ConfigValueType type = DEFAULTS.getIsNull(path) ? ConfigValueType.STRING : DEFAULTS.getValue(path).valueType();
    switch (type) {
      case BOOLEAN:
        return List.of();
      case NUMBER:
        return List.of("3");
      case LIST:
        return List.of("1", "2");
      default:
        return List.of("x");
    }
  }

  /** The same value in the dotted form's spelling: a switch as {@code true}, a list as a comma list. */
  private static List<String> joined(List<String> value) {
    return value.isEmpty() ? List.of("true") : List.of(String.join(",", value));
  }

  private static String render(List<String> args) {
    return TrainSettings.parse(args).render();
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  private static List<String> codes(String cell) {
    List<String> out = new ArrayList<>();
    Matcher m = CODE.matcher(cell);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  private static String firstCode(String cell) {
    Matcher m = CODE.matcher(cell);
    if (!m.find()) {
      throw new AssertionError("no `code` in '" + cell + "'");
    }
    return m.group(1);
  }
}
