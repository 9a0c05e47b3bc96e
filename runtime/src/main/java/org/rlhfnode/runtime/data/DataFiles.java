package org.rlhfnode.runtime.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The splits of a dataset directory (a local folder or a hub snapshot), found as the {@code datasets}
 * library finds them when no {@code configs:} are declared ({@code data_files.py}, first rule that
 * matches wins):
 * <ol>
 *   <li>shards {@code data/<split>-NNNNN-of-NNNNN*.*} (what {@code push_to_hub} writes), the split
 *       named by the file;
 *   <li>a directory named after a split keyword, alone or with separators around it
 *       ({@code train/}, {@code my_test_set/});
 *   <li>a file named after a split keyword ({@code train.jsonl}, {@code sft-eval.parquet});
 *   <li>otherwise every file is split {@code train}.
 * </ol>
 * Keywords: train = train, training; validation = validation, valid, dev, val; test = test, testing,
 * eval, evaluation; separators: {@code - . _ space} and digits. Only {@code .jsonl}, {@code .json},
 * {@code .parquet} and {@code .csv} files count; hidden files, {@code __*} folders and {@code README.md}
 * are skipped. Files are in path order.
 */
final class DataFiles {
  static final Set<String> EXTENSIONS = Set.of("jsonl", "json", "parquet", "csv");
  static final String UNSUPPORTED = "unsupported file type (expected .jsonl, .json, .parquet or .csv)";
  private static final Pattern SHARD = Pattern.compile("data/(\\w+(?:\\.\\w+)*)-\\d{5}-of-\\d{5}[^/]*\\.[^/]*");
  private static final String SEP = "[-._ 0-9]";
  private static final Map<String, List<String>> KEYWORDS = keywords();
  private static final List<String> SPLIT_ORDER = List.of("train", "validation", "test");

  private DataFiles() {}

  /** Split name → files (absolute), in the order the datasets library lists splits. */
  static Map<String, List<Path>> splits(Path dir) {
    List<String> files = relativeFiles(dir);
    Map<String, List<String>> found = sharded(files);
    if (found.isEmpty()) {
      found = byKeyword(files, true);
    }
    if (found.isEmpty()) {
      found = byKeyword(files, false);
    }
    if (found.isEmpty() && !files.isEmpty()) {
      found = Map.of("train", files);
    }
    Map<String, List<Path>> out = new LinkedHashMap<>();
    found.forEach((split, names) -> out.put(split, names.stream().map(dir::resolve).toList()));
    return out;
  }

  /** Whether {@code file} has one of the readable extensions. */
  static boolean supported(Path file) {
    return EXTENSIONS.contains(extension(file));
  }

  static String extension(Path file) {
    String name = file.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
  }

  private static List<String> relativeFiles(Path dir) {
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(Files::isRegularFile).map(f -> dir.relativize(f).toString().replace('\\', '/'))
          .filter(DataFiles::visible).filter(f -> supported(Path.of(f))).sorted().toList();
    } catch (IOException e) {
      throw new DataFormatException(dir, 0, "cannot list directory: " + e.getMessage(), e);
    }
  }

  private static boolean visible(String relative) {
    for (String part : relative.split("/")) {
      if (part.startsWith(".") || part.startsWith("__")) {
        return false;
      }
    }
    return !relative.equals("README.md");
  }

  private static Map<String, List<String>> sharded(List<String> files) {
    Map<String, List<String>> bySplit = new LinkedHashMap<>();
    for (String f : files) {
      Matcher m = SHARD.matcher(f);
      if (m.matches()) {
        bySplit.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(f);
      }
    }
    Map<String, List<String>> ordered = new LinkedHashMap<>();
    for (String split : SPLIT_ORDER) {
      if (bySplit.containsKey(split)) {
        ordered.put(split, bySplit.remove(split));
      }
    }
    new TreeSet<>(bySplit.keySet()).forEach(s -> ordered.put(s, bySplit.get(s)));
    return ordered;
  }

  /** Rule 2 ({@code inDirectory}) or 3: the files whose folder (or file) name carries a split keyword. */
  private static Map<String, List<String>> byKeyword(List<String> files, boolean inDirectory) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (String split : SPLIT_ORDER) {
      List<String> matched = new ArrayList<>();
      for (String f : files) {
        if (matches(f, KEYWORDS.get(split), inDirectory)) {
          matched.add(f);
        }
      }
      if (!matched.isEmpty()) {
        out.put(split, matched);
      }
    }
    return out;
  }

  private static boolean matches(String relative, List<String> keywords, boolean inDirectory) {
    String[] parts = relative.split("/");
    for (String keyword : keywords) {
      String k = Pattern.quote(keyword);
      if (inDirectory) {
        Pattern dirName = Pattern.compile("(.*" + SEP + ")?" + k + "(" + SEP + ".*)?");
        for (int i = 0; i < parts.length - 1; i++) {
          if (dirName.matcher(parts[i]).matches()) {
            return true;
          }
        }
      } else if (Pattern.compile("(.*" + SEP + ")?" + k + SEP + ".*").matcher(parts[parts.length - 1]).matches()) {
        return true;
      }
    }
    return false;
  }

  private static Map<String, List<String>> keywords() {
    Map<String, List<String>> k = new LinkedHashMap<>();
    k.put("train", List.of("train", "training"));
    k.put("validation", List.of("validation", "valid", "dev", "val"));
    k.put("test", List.of("test", "testing", "eval", "evaluation"));
    return k;
  }
}
