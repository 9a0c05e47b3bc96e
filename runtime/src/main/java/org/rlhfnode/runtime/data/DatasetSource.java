package org.rlhfnode.runtime.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.rlhfnode.runtime.hub.HubCache;
import org.rlhfnode.runtime.hub.HubCache.Lookup;
import org.rlhfnode.runtime.hub.HubCache.RepoType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files of one dataset source, as a {@code --dataset}/{@code --prompt_data} entry names it:
 * <ul>
 *   <li>a {@code .jsonl}, {@code .json}, {@code .parquet} or {@code .csv} file: split {@code train} only
 *       (as {@code load_dataset("json", data_files=...)} gives it);
 *   <li>a directory: its splits as {@link DataFiles} finds them;
 *   <li>{@code org/name} or {@code org/name@data_dir}: the dataset's snapshot in the local HuggingFace
 *       hub cache ({@code datasets--org--name}, revision {@code refs/main}; {@link HubCache}), or its
 *       sub-directory {@code data_dir} (OpenRLHF's {@code dataset@data_dir}), read as a directory.
 * </ul>
 * A path that exists wins over a repository id. A split name selects one split; asking for a split a
 * source does not have is an error listing the splits it has.
 */
public final class DatasetSource {
  private static final Logger LOG = LoggerFactory.getLogger(DatasetSource.class);
  /** A split name as the datasets library allows it ({@code naming._split_re}). */
  static final Pattern SPLIT_NAME = Pattern.compile("\\w+(\\.\\w+)*");
  private static final Pattern CONFIG_NAME = Pattern.compile("^\\s*-?\\s*config_name:\\s*['\"]?([^'\"\\s]+)");

  private DatasetSource() {}

  /** The files of split {@code split} of {@code spec}, looked up in this process's hub cache. */
  public static List<Path> files(String spec, String split) {
    return files(spec, split, HubCache.fromEnvironment());
  }

  /** The files of split {@code split} of {@code spec}; errors name {@code spec} and where it was looked for. */
  public static List<Path> files(String spec, String split, HubCache cache) {
    if (!SPLIT_NAME.matcher(split).matches()) {
      throw new IllegalArgumentException("split '" + split + "' is not a split name (letters, digits, '_', '.')");
    }
    Path local = Path.of(spec);
    if (Files.exists(local)) {
      return filesOf(local, split, null);
    }
    int at = spec.lastIndexOf('@');
    String base = at < 0 ? spec : spec.substring(0, at);
    String dataDir = at < 0 ? null : spec.substring(at + 1);
    if (at >= 0 && Files.isDirectory(Path.of(base))) {
      return filesOf(subdirectory(Path.of(base), dataDir, spec), split, null);
    }
    if (!HubCache.isRepoId(base) || (dataDir != null && dataDir.isBlank())) {
      throw new DataFormatException(local, 0, "dataset path does not exist");
    }
    Lookup lookup = cache.find(RepoType.DATASET, base, null);
    if (lookup.snapshot().isEmpty()) {
      throw new DataFormatException(local, 0, "no such file or directory (" + local.toAbsolutePath()
          + "), and not in the HuggingFace hub cache " + cache.describe() + ": " + lookup.looked()
          + "; nothing is downloaded (as with HF_DATASETS_OFFLINE=1): fetch it where there is network with "
          + "`huggingface-cli download --repo-type dataset " + base + "` into that cache, or give a local path");
    }
    Path snapshot = lookup.snapshot().get();
    LOG.info("dataset {}: {} from the HuggingFace hub cache", spec, snapshot);
    if (dataDir == null) {
      requireOneConfig(snapshot, base);
      return filesOf(snapshot, split, base);
    }
    return filesOf(subdirectory(snapshot, dataDir, spec), split, base);
  }

  private static Path subdirectory(Path root, String dataDir, String spec) {
    Path dir = root.resolve(dataDir).normalize();
    if (!dir.startsWith(root) || !Files.isDirectory(dir)) {
      throw new DataFormatException(Path.of(spec), 0, "no directory '" + dataDir + "' in " + root);
    }
    return dir;
  }

  private static List<Path> filesOf(Path source, String split, String repo) {
    if (Files.isRegularFile(source)) {
      if (!DataFiles.supported(source)) {
        throw new DataFormatException(source, 0, DataFiles.UNSUPPORTED);
      }
      if (!split.equals("train")) {
        throw new DataFormatException(source, 0, "a single file holds only split 'train', not '" + split
            + "' (give the file of that split, or a directory whose file names carry the split)");
      }
      return List.of(source);
    }
    Path label = repo == null ? source : Path.of(repo);
    String in = repo == null ? "" : " in " + source;
    Map<String, List<Path>> splits = DataFiles.splits(source);
    if (splits.isEmpty()) {
      throw new DataFormatException(label, 0, "no .jsonl, .json, .parquet or .csv files" + in + others(source));
    }
    List<Path> files = splits.get(split);
    if (files == null) {
      throw new DataFormatException(label, 0, "no split '" + split + "'" + in + " (it has "
          + String.join(", ", splits.keySet()) + ")" + others(source));
    }
    return files;
  }

  /**
   * A hub dataset with several {@code configs} in its README would be read as all of them mixed;
   * refuse, and say how to pick one.
   */
  private static void requireOneConfig(Path snapshot, String repo) {
    List<String> configs = configNames(snapshot.resolve("README.md"));
    if (configs.size() > 1) {
      throw new DataFormatException(Path.of(repo), 0, "the dataset declares " + configs.size() + " configs ("
          + String.join(", ", configs) + ") in its README.md; read one of them with " + repo
          + "@<its directory> (OpenRLHF's data_dir) or give the path of its files");
    }
  }

  /** The {@code config_name}s of the YAML block that opens a dataset card; empty when there is none. */
  static List<String> configNames(Path readme) {
    if (!Files.isRegularFile(readme)) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    try (Stream<String> lines = Files.lines(readme, StandardCharsets.UTF_8)) {
      List<String> all = lines.limit(10_000).toList();
      if (all.isEmpty() || !all.get(0).strip().equals("---")) {
        return List.of();
      }
      for (int i = 1; i < all.size() && !all.get(i).strip().equals("---"); i++) {
        Matcher m = CONFIG_NAME.matcher(all.get(i));
        if (m.find()) {
          names.add(m.group(1));
        }
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      return List.of(); // a card we cannot read does not stop the data from being read
    }
    return names;
  }

  /** "; other files are not read: a.arrow, b.txt" for a few files of other types, or "". */
  private static String others(Path dir) {
    try (Stream<Path> walk = Files.walk(dir)) {
      List<String> names = walk.filter(Files::isRegularFile).filter(f -> !DataFiles.supported(f))
          .map(f -> dir.relativize(f).toString()).filter(n -> !n.startsWith(".") && !n.equals("README.md"))
          .sorted().limit(5).toList();
      return names.isEmpty() ? "" : "; files of other types are not read: " + String.join(", ", names);
    } catch (IOException e) {
      return "";
    }
  }
}
