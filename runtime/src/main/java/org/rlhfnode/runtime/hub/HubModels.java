package org.rlhfnode.runtime.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.rlhfnode.runtime.hub.HubCache.Lookup;
import org.rlhfnode.runtime.hub.HubCache.RepoType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a model flag ({@code --pretrain}, {@code --reward_pretrain}, {@code --model}, ...) points: a
 * local path that exists wins; otherwise {@code org/name} or {@code org/name@revision} (a branch, tag or
 * commit hash, as {@code HfFileSystem} writes it) is looked up in the local HuggingFace hub cache
 * ({@link HubCache}); nothing is downloaded. A name found nowhere is one error line naming the flag and
 * every place that was looked at.
 */
public final class HubModels {
  private static final Logger LOG = LoggerFactory.getLogger(HubModels.class);

  private HubModels() {}

  /** {@code spec} resolved against this process's hub cache; the error names {@code flag}. */
  public static Path resolve(String flag, String spec) {
    return resolve(flag, spec, HubCache.fromEnvironment());
  }

  /**
   * The directory {@code spec} names: the local path when it exists, else the hub snapshot.
   *
   * @throws IllegalArgumentException {@code "<flag> <spec>: ..."} saying where it looked
   */
  public static Path resolve(String flag, String spec, HubCache cache) {
    return find(spec, cache).orElseThrow(() -> new IllegalArgumentException(notFound(flag, spec, cache)));
  }

  /** The directory {@code spec} names, or empty when it is neither a local path nor in the cache. */
  public static Optional<Path> find(String spec, HubCache cache) {
    if (spec == null || spec.isBlank()) {
      return Optional.empty();
    }
    Path local = Path.of(spec);
    if (Files.exists(local)) {
      return Optional.of(local);
    }
    Optional<Path> snapshot = repo(spec).flatMap(r -> cache.find(RepoType.MODEL, r[0], r[1]).snapshot());
    snapshot.ifPresent(dir -> LOG.info("model {}: {} from the HuggingFace hub cache", spec, dir));
    return snapshot;
  }

  /** As {@link #find(String, HubCache)} with this process's cache. */
  public static Optional<Path> find(String spec) {
    return find(spec, HubCache.fromEnvironment());
  }

  /**
   * The one-line error for a model that is nowhere: the local path looked at and, for a repository id,
   * the cache entry looked at and how to fill the cache.
   */
  public static String notFound(String flag, String spec, HubCache cache) {
    return flag + " " + missing(spec, cache);
  }

  /** {@link #notFound} without the flag: {@code "<spec>: no such local directory ..."}. */
  public static String missing(String spec, HubCache cache) {
    return spec + ": " + looked(spec, cache);
  }

  /** Where {@code spec} was looked for: {@code "no such local directory (...), and not in ..."}. */
  public static String looked(String spec, HubCache cache) {
    String head = "no such local directory (" + Path.of(spec).toAbsolutePath() + ")";
    Optional<String[]> repo = repo(spec);
    if (repo.isEmpty()) {
      return head + ", and not a HuggingFace repository id (org/name or org/name@revision) either";
    }
    Lookup lookup = cache.find(RepoType.MODEL, repo.get()[0], repo.get()[1]);
    return head + ", and not in the HuggingFace hub cache " + cache.describe() + ": " + lookup.looked()
        + "; nothing is downloaded (as with HF_HUB_OFFLINE=1): fetch it where there is network with "
        + "`huggingface-cli download " + repo.get()[0] + "` into that cache (set HF_HUB_CACHE or HF_HOME to "
        + "point here), or give a local directory";
  }

  /** {@code [repoId, revision or null]} when {@code spec} reads as a repository id, else empty. */
  static Optional<String[]> repo(String spec) {
    int at = spec.lastIndexOf('@');
    String id = at < 0 ? spec : spec.substring(0, at);
    String revision = at < 0 ? null : spec.substring(at + 1);
    if (!HubCache.isRepoId(id) || (revision != null && revision.isBlank())) {
      return Optional.empty();
    }
    return Optional.of(new String[] {id, revision});
  }
}
