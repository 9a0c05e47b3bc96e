package org.rlhfnode.runtime.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The local HuggingFace hub cache, read as {@code huggingface_hub} reads it with {@code HF_HUB_OFFLINE=1}:
 * nothing is ever downloaded.
 *
 * <p>Where the cache is (huggingface_hub's {@code constants.py}): {@code HF_HUB_CACHE}, else the legacy
 * {@code HUGGINGFACE_HUB_CACHE}, else {@code $HF_HOME/hub}, where {@code HF_HOME} defaults to
 * {@code $XDG_CACHE_HOME/huggingface} and {@code XDG_CACHE_HOME} to {@code ~/.cache}. Values have
 * {@code ~} and {@code $VAR}/{@code ${VAR}} expanded. A Java system property of the same name
 * ({@code -DHF_HUB_CACHE=/data/hub}) wins over the environment variable, as DJL's
 * {@code -DOPT_OUT_TRACKING} does.
 *
 * <p>Layout (huggingface_hub's {@code file_download.py}, {@code _snapshot_download.py}): a repository
 * {@code org/name} of type model or dataset lives in {@code <cache>/models--org--name} or
 * {@code <cache>/datasets--org--name}; a revision that is a 40-hex commit hash names
 * {@code snapshots/<hash>} directly, any other revision (a branch or tag, {@code main} by default) is
 * the commit hash written in {@code refs/<revision>}; the files are under {@code snapshots/<hash>/}.
 */
public final class HubCache {
  /** huggingface_hub's {@code REGEX_COMMIT_HASH}. */
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
  /** huggingface_hub's {@code REPO_ID_REGEX}: optional namespace, name of word chars, '-' and '.'. */
  private static final Pattern REPO_ID = Pattern.compile("(\\b[\\w\\-.]+\\b/)?\\b[\\w\\-.]{1,96}\\b");
  private static final Pattern VARIABLE = Pattern.compile("\\$(\\w+|\\{(\\w+)})");
  /** The branch a name without a revision reads, huggingface_hub's {@code DEFAULT_REVISION}. */
  public static final String DEFAULT_REVISION = "main";

  /** The two kinds of repository rlhf-node reads, with their folder prefix. */
  public enum RepoType {
    MODEL("models"), DATASET("datasets");

    private final String folderPrefix;

    RepoType(String folderPrefix) {
      this.folderPrefix = folderPrefix;
    }
  }

  /**
   * The outcome of one look-up.
   *
   * @param snapshot the snapshot directory, when the revision is in the cache
   * @param looked what was checked, for an error message: the refs file or snapshot path, and why it failed
   */
  public record Lookup(Optional<Path> snapshot, String looked) {}

  private final Path root;
  private final String origin;

  private HubCache(Path root, String origin) {
    this.root = root;
    this.origin = origin;
  }

  /** The cache of this process: system properties, then environment variables, then {@code user.home}. */
  public static HubCache fromEnvironment() {
    return from(name -> System.getProperty(name, System.getenv(name)), Path.of(System.getProperty("user.home")));
  }

  /** The cache that the variables {@code env} (null when unset) and the home directory {@code home} give. */
  public static HubCache from(UnaryOperator<String> env, Path home) {
    String hubCache = env.apply("HF_HUB_CACHE");
    if (hubCache != null) {
      return new HubCache(expand(hubCache, env, home), "HF_HUB_CACHE");
    }
    String legacy = env.apply("HUGGINGFACE_HUB_CACHE");
    if (legacy != null) {
      return new HubCache(expand(legacy, env, home), "HUGGINGFACE_HUB_CACHE");
    }
    String hfHome = env.apply("HF_HOME");
    if (hfHome != null) {
      return new HubCache(expand(hfHome, env, home).resolve("hub"), "HF_HOME");
    }
    String xdg = env.apply("XDG_CACHE_HOME");
    if (xdg != null) {
      return new HubCache(expand(xdg, env, home).resolve("huggingface").resolve("hub"), "XDG_CACHE_HOME");
    }
    return new HubCache(home.resolve(".cache").resolve("huggingface").resolve("hub"), "the default");
  }

  /** A cache at {@code root} (tests, and a directory given explicitly). */
  public static HubCache at(Path root) {
    return new HubCache(Objects.requireNonNull(root, "root"), "given");
  }

  /** The cache directory. */
  public Path root() {
    return root;
  }

  /** The cache directory and which setting chose it, e.g. {@code /data/hub (HF_HUB_CACHE)}. */
  public String describe() {
    return root + " (" + origin + ")";
  }

  /** Whether {@code id} is a repository id huggingface_hub accepts: {@code name} or {@code namespace/name}. */
  public static boolean isRepoId(String id) {
    return id != null && REPO_ID.matcher(id).matches() && !id.contains("--") && !id.contains("..")
        && !id.endsWith(".git");
  }

  /** The folder of repository {@code repoId}: {@code models--org--name} or {@code datasets--org--name}. */
  public Path repoFolder(RepoType type, String repoId) {
    return root.resolve(type.folderPrefix + "--" + repoId.replace("/", "--"));
  }

  /**
   * The snapshot directory of {@code repoId} at {@code revision} (a branch, a tag or a 40-hex commit;
   * null means {@code main}), as {@code snapshot_download(..., local_files_only=True)} finds it.
   */
  public Lookup find(RepoType type, String repoId, String revision) {
    if (!isRepoId(repoId)) {
      throw new IllegalArgumentException("'" + repoId + "' is not a HuggingFace repository id");
    }
    String rev = revision == null || revision.isEmpty() ? DEFAULT_REVISION : revision;
    Path repo = repoFolder(type, repoId);
    String commit = rev;
    if (!COMMIT.matcher(rev).matches()) {
      Path ref = repo.resolve("refs").resolve(rev).normalize();
      if (!ref.startsWith(repo.resolve("refs")) || !Files.isRegularFile(ref)) {
        return new Lookup(Optional.empty(), ref + " not found");
      }
      try {
        commit = Files.readString(ref, StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        return new Lookup(Optional.empty(), ref + " unreadable (" + e.getMessage() + ")");
      }
      if (!COMMIT.matcher(commit).matches()) {
        return new Lookup(Optional.empty(), ref + " holds '" + commit + "', not a commit hash");
      }
    }
    Path snapshot = repo.resolve("snapshots").resolve(commit);
    if (!Files.isDirectory(snapshot)) {
      return new Lookup(Optional.empty(), snapshot + " not found"
          + (commit.equals(rev) ? "" : " (refs/" + rev + " points there)"));
    }
    return new Lookup(Optional.of(snapshot), snapshot.toString());
  }

  /** Python's {@code expandvars(expanduser(value))}: a leading {@code ~}, then defined variables. */
  private static Path expand(String value, UnaryOperator<String> env, Path home) {
    String v = value;
    if (v.equals("~") || v.startsWith("~/")) {
      v = home + v.substring(1);
    }
    Matcher m = VARIABLE.matcher(v);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String name = m.group(2) != null ? m.group(2) : m.group(1);
      String replacement = env.apply(name);
      m.appendReplacement(out, Matcher.quoteReplacement(replacement != null ? replacement : m.group()));
    }
    m.appendTail(out);
    return Path.of(out.toString());
  }
}
