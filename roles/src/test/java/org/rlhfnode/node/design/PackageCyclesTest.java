package org.rlhfnode.node.design;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No package of the project's main code depends, through its imports, on a package that depends back on
 * it (messages, runtime, roles). A cycle is reported as the packages on it.
 */
class PackageCyclesTest {
  private static final Path REPO = Path.of(System.getProperty("rlhf.repo"));
  private static final Pattern PACKAGE = Pattern.compile("^package (org\\.rlhfnode[\\w.]*);", Pattern.MULTILINE);
  private static final Pattern IMPORT = Pattern.compile("^import (?:static )?(org\\.rlhfnode(?:\\.[a-z]\\w*)*)\\.[A-Z]",
      Pattern.MULTILINE);

  /** Package → the project packages its main sources import. */
  static Map<String, Set<String>> graph(Path repo) {
    Map<String, Set<String>> g = new TreeMap<>();
    for (String module : List.of("messages", "runtime", "roles")) {
      try (Stream<Path> files = Files.walk(repo.resolve(module).resolve("src/main/java"))) {
        files.filter(p -> p.toString().endsWith(".java")).forEach(p -> add(g, p));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return g;
  }

  private static void add(Map<String, Set<String>> g, Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Matcher pm = PACKAGE.matcher(text);
    if (!pm.find()) {
      return;
    }
    Set<String> deps = g.computeIfAbsent(pm.group(1), k -> new TreeSet<>());
    Matcher im = IMPORT.matcher(text);
    while (im.find()) {
      if (!im.group(1).equals(pm.group(1))) {
        deps.add(im.group(1));
      }
    }
  }

  /** The cycles found by a depth-first search (each as the packages on it), empty when there are none. */
  static List<List<String>> cycles(Map<String, Set<String>> g) {
    List<List<String>> out = new ArrayList<>();
    Set<String> done = new TreeSet<>();
    for (String start : g.keySet()) {
      visit(start, g, new ArrayDeque<>(), done, out);
    }
    return out;
  }

  private static void visit(String node, Map<String, Set<String>> g, Deque<String> path, Set<String> done,
      List<List<String>> out) {
    if (path.contains(node)) {
      List<String> cycle = new ArrayList<>();
      boolean on = false;
      for (String p : (Iterable<String>) path::descendingIterator) {
        on |= p.equals(node);
        if (on) {
          cycle.add(p);
        }
      }
      int first = cycle.indexOf(cycle.stream().min(String::compareTo).orElseThrow());
      List<String> rotated = new ArrayList<>(cycle.subList(first, cycle.size()));
      rotated.addAll(cycle.subList(0, first));
      out.add(rotated); // starting at its smallest package, so a cycle reads the same from wherever it is found
      return;
    }
    if (!done.add(node)) {
      return;
    }
    path.push(node);
    for (String next : g.getOrDefault(node, Set.of())) {
      visit(next, g, path, done, out);
    }
    path.pop();
  }

  @Test
  void mainCodeHasNoPackageCycles() {
    assertEquals(List.of(), cycles(graph(REPO)));
  }

  @Test
  void theSearchFindsACycle() {
    Map<String, Set<String>> g = Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"));
    assertEquals(List.of(List.of("a", "b", "c")), cycles(g));
  }
}
