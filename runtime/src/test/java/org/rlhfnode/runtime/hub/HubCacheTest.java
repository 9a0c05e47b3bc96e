package org.rlhfnode.runtime.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.hub.HubCache.RepoType;
import org.rlhfnode.runtime.model.ModelConfig;

/**
 * The hub cache as huggingface_hub reads it offline: where the cache is, how a name and a revision
 * become a snapshot directory, and what a model flag resolves to (a local path first). The cache is a
 * fake one built in a temporary directory with the bundled tiny model, laid out as huggingface_hub
 * writes it (blobs, symlinked snapshot files, refs).
 */
class HubCacheTest {
  static final String MAIN = "0123456789abcdef0123456789abcdef01234567";
  static final String OTHER = "fedcba9876543210fedcba9876543210fedcba98";

  @TempDir
  Path dir;

  private static HubCache cache(Map<String, String> env, Path home) {
    return HubCache.from(env::get, home);
  }

  @Test
  void cacheRootFollowsHuggingFaceHubPrecedence() {
    Path home = Path.of("/home/u");
    Map<String, String> env = new HashMap<>();
    assertEquals(Path.of("/home/u/.cache/huggingface/hub"), cache(env, home).root());
    env.put("XDG_CACHE_HOME", "/xdg");
    assertEquals(Path.of("/xdg/huggingface/hub"), cache(env, home).root());
    env.put("HF_HOME", "~/hf");
    assertEquals(Path.of("/home/u/hf/hub"), cache(env, home).root());
    env.put("HUGGINGFACE_HUB_CACHE", "/legacy");
    assertEquals(Path.of("/legacy"), cache(env, home).root());
    env.put("SCRATCH", "/scratch/u");
    env.put("HF_HUB_CACHE", "${SCRATCH}/hub-$SCRATCH_UNSET");
    assertEquals(Path.of("/scratch/u/hub-$SCRATCH_UNSET"), cache(env, home).root());
    assertEquals("/scratch/u/hub-$SCRATCH_UNSET (HF_HUB_CACHE)", cache(env, home).describe());
  }

  @Test
  void systemPropertyOverridesTheEnvironment() {
    String before = System.getProperty("HF_HUB_CACHE");
    try {
      System.setProperty("HF_HUB_CACHE", dir.toString());
      assertEquals(dir, HubCache.fromEnvironment().root());
    } finally {
      if (before == null) {
        System.clearProperty("HF_HUB_CACHE");
      } else {
        System.setProperty("HF_HUB_CACHE", before);
      }
    }
  }

  @Test
  void repoIdsAreCheckedAsHuggingFaceHubChecksThem() {
    for (String ok : List.of("gpt2", "org/name", "Org-1/Name_2.5", "a/b.c")) {
      assertTrue(HubCache.isRepoId(ok), ok);
    }
    for (String bad : List.of("", "/abs/path", "a/b/c", "./x", "a--b", "a..b", "x.git", "-x", "org/", "a b")) {
      assertFalse(HubCache.isRepoId(bad), bad);
    }
  }

  @Test
  void revisionsResolveThroughRefsOrAsCommitHashes() throws IOException {
    HubCache hub = HubCache.at(dir);
    Path main = snapshot(dir, "models--org--tiny", MAIN, "main");
    Path v1 = snapshot(dir, "models--org--tiny", OTHER, "v1");
    assertEquals(Optional.of(main), hub.find(RepoType.MODEL, "org/tiny", null).snapshot());
    assertEquals(Optional.of(v1), hub.find(RepoType.MODEL, "org/tiny", "v1").snapshot());
    assertEquals(Optional.of(v1), hub.find(RepoType.MODEL, "org/tiny", OTHER).snapshot());
    assertEquals(dir.resolve("models--org--tiny/refs/v2") + " not found",
        hub.find(RepoType.MODEL, "org/tiny", "v2").looked());
    assertTrue(hub.find(RepoType.DATASET, "org/tiny", null).snapshot().isEmpty(), "datasets have their own folders");
  }

  @Test
  void aRefToAMissingSnapshotIsNotFoundAndSaysSo() throws IOException {
    Path repo = Files.createDirectories(dir.resolve("models--org--gone/refs"));
    Files.writeString(repo.resolve("main"), MAIN);
    HubCache.Lookup lookup = HubCache.at(dir).find(RepoType.MODEL, "org/gone", null);
    assertTrue(lookup.snapshot().isEmpty());
    assertEquals(dir.resolve("models--org--gone/snapshots/" + MAIN) + " not found (refs/main points there)",
        lookup.looked());
  }

  @Test
  void modelNameResolvesToASnapshotThatLoads() throws IOException {
    Path snapshot = tinyModel(dir.resolve("hub"), "models--org--tiny-llama", MAIN);
    Path resolved = HubModels.resolve("--pretrain", "org/tiny-llama", HubCache.at(dir.resolve("hub")));
    assertEquals(snapshot, resolved);
    assertEquals(tinyLlama().resolve("config.json").toFile().length(),
        Files.size(resolved.resolve("config.json")));
    assertEquals(ModelConfig.load(tinyLlama()).hiddenSize(), ModelConfig.load(resolved).hiddenSize());
  }

  @Test
  void anExistingLocalDirectoryWinsOverTheHub() throws IOException {
    // a relative directory that is also a valid repository id, made (and removed) in the working directory
    Path org = Files.createTempDirectory(Path.of("").toAbsolutePath(), "hubtest");
    String name = org.getFileName() + "/tiny-llama";
    try {
      tinyModel(dir.resolve("hub"), "models--" + org.getFileName() + "--tiny-llama", MAIN);
      Path local = Files.createDirectory(org.resolve("tiny-llama"));
      assertEquals(Path.of(name), HubModels.resolve("--pretrain", name, HubCache.at(dir.resolve("hub"))));
      Files.delete(local);
      assertEquals(dir.resolve("hub/models--" + org.getFileName() + "--tiny-llama/snapshots/" + MAIN),
          HubModels.resolve("--pretrain", name, HubCache.at(dir.resolve("hub"))));
    } finally {
      Files.deleteIfExists(org.resolve("tiny-llama"));
      Files.delete(org);
    }
  }

  @Test
  void aNameFoundNowhereIsOneErrorSayingWhereItLooked() {
    HubCache hub = HubCache.at(dir);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HubModels.resolve("--reward_pretrain", "org/missing@v3", hub));
    String expected = "--reward_pretrain org/missing@v3: no such local directory ("
        + Path.of("org/missing@v3").toAbsolutePath() + "), and not in the HuggingFace hub cache " + dir
        + " (given): " + dir.resolve("models--org--missing/refs/v3") + " not found; nothing is downloaded";
    assertEquals(expected, e.getMessage().substring(0, expected.length()));
    assertFalse(e.getMessage().contains("\n"));
    IllegalArgumentException path = assertThrows(IllegalArgumentException.class,
        () -> HubModels.resolve("--pretrain", "/no/such/dir", hub));
    assertEquals("--pretrain /no/such/dir: no such local directory (/no/such/dir), and not a HuggingFace "
        + "repository id (org/name or org/name@revision) either", path.getMessage());
  }

  /** The bundled tiny model. */
  static Path tinyLlama() {
    Path tiny = Path.of(System.getProperty("rlhf.repo", "..")).resolve("examples/tiny-llama");
    assertTrue(Files.isDirectory(tiny), "tiny-llama not found at " + tiny + " (set -Drlhf.repo)");
    return tiny;
  }

  /**
   * The tiny model under {@code hub/<repoFolder>} as huggingface_hub stores it: files in
   * {@code blobs/}, symlinked from {@code snapshots/<commit>/}, and {@code refs/main} holding the commit.
   */
  static Path tinyModel(Path hub, String repoFolder, String commit) throws IOException {
    Path repo = hub.resolve(repoFolder);
    Path snapshot = Files.createDirectories(repo.resolve("snapshots").resolve(commit));
    Files.createDirectories(repo.resolve("blobs"));
    try (Stream<Path> files = Files.list(tinyLlama())) {
      for (Path f : files.toList()) {
        Path blob = repo.resolve("blobs").resolve("blob-" + f.getFileName());
        Files.copy(f, blob);
        Files.createSymbolicLink(snapshot.resolve(f.getFileName()), Path.of("../../blobs").resolve(blob.getFileName()));
      }
    }
    Files.createDirectories(repo.resolve("refs"));
    Files.writeString(repo.resolve("refs/main"), commit);
    return snapshot;
  }

  private static Path snapshot(Path hub, String repoFolder, String commit, String ref) throws IOException {
    Path repo = hub.resolve(repoFolder);
    Path snapshot = Files.createDirectories(repo.resolve("snapshots").resolve(commit));
    Files.createDirectories(repo.resolve("refs"));
    Files.writeString(repo.resolve("refs").resolve(ref), commit);
    return snapshot;
  }
}
