package org.rlhfnode.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The flag tables of docs/cli.md, as the tests that keep them honest read them. */
public final class CliTables {
  public static final Path CLI_MD = Path.of(System.getProperty("rlhf.repo")).resolve("docs/cli.md");

  private CliTables() {}

  /** The four cells of each row ({@code | `--...}) of the table under {@code heading}. */
  public static List<String[]> rows(String heading) throws Exception {
    List<String> lines = Files.readAllLines(CLI_MD);
    int start = lines.indexOf(heading);
    assertTrue(start >= 0, "docs/cli.md has no section '" + heading + "'");
    List<String[]> out = new ArrayList<>();
    for (String line : lines.subList(start + 1, lines.size())) {
      if (line.startsWith("## ")) {
        break;
      }
      if (line.startsWith("| `--")) {
        String[] cells = line.substring(1, line.length() - 1).split("\\|", -1);
        assertEquals(4, cells.length, "four cells: " + line);
        out.add(cells);
      }
    }
    return out;
  }
}
