package org.rlhfnode.runtime.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.model.ModelSaver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Multi-part checkpoints of a run under one root ({@code ckpt_path}): one directory per iteration
 * ({@code iter_4}) holding one part per stateful role ({@code run/}, {@code policy/}, {@code critic/}),
 * each part written by its own process, possibly on another machine sharing the file system. A
 * checkpoint is either complete or invisible.
 *
 * <p>The supervisor calls {@link #begin} for a hidden staging directory; each writer fills
 * {@code staging/<part>} with {@link #writePart} or {@link #writeTrainerPart} (or, a trainer of several
 * ranks, through {@link SharedPart}: each rank its own ZeRO file) and reports the SHA-256 of its part's
 * manifest; {@link #commit} checks every reported part against the disk, writes the top
 * {@code manifest.json} (listing only the part manifests) last, renames the staging directory to its
 * tag and keeps the newest {@code maxCkptNum}. A part describes itself: its own manifest lists each of
 * its files with size and SHA-256, and a trainer part has {@link CheckpointManager}'s layout (consolidated
 * or ZeRO's one file per rank).
 * {@link #complete()} checks the top and part manifests only, since parts can be hundreds of GB;
 * {@link #loadTrainerPart} and {@link #verifyPart} verify a part's data when it is read.
 *
 * <p>One supervisor commits to a root at a time. Loaded tensors are CPU tensors owned by the
 * caller's {@code PointerScope}.
 */
public final class RunCheckpoints {
  static final String PART_TMP_PREFIX = ".part-";
  private static final String REPLACED_PREFIX = ".replaced-";
  private static final Pattern PART_MANIFEST =
      Pattern.compile("[^/]+/" + Pattern.quote(CheckpointManifest.FILE_NAME));
  private static final Logger LOG = LoggerFactory.getLogger(RunCheckpoints.class);

  /** What a part holds: writes its files into the fresh, empty directory {@code dir}. */
  @FunctionalInterface
  public interface PartContent {
    void write(Path dir) throws IOException;
  }

  private final CheckpointRoot ckpts;

  /**
   * @param root directory holding the checkpoints; created by the first {@link #begin}
   * @param maxCkptNum how many committed checkpoints to keep, ≥ 1
   */
  public RunCheckpoints(Path root, int maxCkptNum) {
    this.ckpts = new CheckpointRoot(root, maxCkptNum, LOG);
  }

  /** The tag of the checkpoint after {@code iteration} iterations. */
  public static String tag(long iteration) {
    return "iter_" + iteration;
  }

  /** The checkpoint root, absolute and normalised. */
  public Path root() {
    return ckpts.root();
  }

  /** The directory of {@code part} inside a checkpoint or staging directory. */
  public static Path part(Path checkpointDir, String part) {
    checkPartName(part);
    return checkpointDir.resolve(part);
  }

  /**
   * Starts a checkpoint: removes hidden leftovers of interrupted saves, then creates an empty staging
   * directory {@code root/.tmp-<tag>-<hex>} for the parts.
   *
   * @throws UncheckedIOException naming the path if the file system refuses
   */
  public Path begin(String tag) {
    CheckpointRoot.checkName("checkpoint tag", tag);
    Path staging = ckpts.hidden(CheckpointRoot.TMP_PREFIX, tag);
    try {
      org.rlhfnode.runtime.io.OwnerOnly.createDirectories(ckpts.root());
      ckpts.removeLeftovers();
      Files.createDirectory(staging);
      DurableFiles.fsyncDirectory(ckpts.root());
      return staging;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create staging directory " + staging + ": " + e, e);
    }
  }

  /**
   * Writes one part: {@code content} fills a hidden sibling directory, every file is fsynced and
   * listed with size and SHA-256 in the part's {@code manifest.json}, written last, and the directory
   * is renamed to {@code partDir}. Needs no {@link RunCheckpoints}: writers run in other processes.
   *
   * @param partDir {@code staging/<part>}; must not exist yet (a part is written once per staging directory)
   * @param tag the checkpoint's tag, recorded in the part manifest
   * @param step the checkpoint's step, recorded in the part manifest
   * @return the lower-case hex SHA-256 of the part's {@code manifest.json}, for the committer
   * @throws UncheckedIOException one line naming {@code partDir}; the hidden directory is removed
   */
  public static String writePart(Path partDir, String tag, long step, PartContent content) {
    Path target = partDir.toAbsolutePath().normalize();
    String name = String.valueOf(target.getFileName());
    checkPartName(name);
    CheckpointRoot.checkName("checkpoint tag", tag);
    checkStep(step);
    Objects.requireNonNull(content, "content");
    Path tmp = target.resolveSibling(PART_TMP_PREFIX + name + "-" + CheckpointRoot.randomHex());
    try {
      requireUnwritten(target);
      Files.createDirectory(tmp);
      content.write(tmp);
    } catch (IOException e) {
      throw partFailed(target, tmp, e.toString(), e);
    } catch (UncheckedIOException e) {
      throw partFailed(target, tmp, e.getMessage(), e.getCause());
    } catch (RuntimeException | Error e) {
      CheckpointRoot.deleteQuietly(tmp, e);
      throw e;
    }
    return commitPart(tmp, target, tag, step);
  }

  static void requireUnwritten(Path target) throws IOException {
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      throw new FileAlreadyExistsException(target.toString(), null, "part already written");
    }
  }

  /**
   * Seals a filled part staging directory (every file fsynced and listed with size and SHA-256 in the
   * part's {@code manifest.json}, written last) and renames it to {@code partDir}; on failure the staging
   * directory is removed: the last step of {@link #writePart} and of {@link SharedPart#commit}.
   *
   * @return the lower-case hex SHA-256 of the part's {@code manifest.json}
   * @throws UncheckedIOException one line naming {@code partDir}
   */
  static String commitPart(Path staging, Path partDir, String tag, long step) {
    Path target = partDir.toAbsolutePath().normalize();
    checkPartName(String.valueOf(target.getFileName()));
    CheckpointRoot.checkName("checkpoint tag", tag);
    checkStep(step);
    try {
      CheckpointManifest manifest = CheckpointManager.seal(staging, tag, step, dir -> { });
      String sha = DurableFiles.sha256(staging.resolve(CheckpointManifest.FILE_NAME));
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      DurableFiles.fsyncDirectory(target.getParent());
      LOG.info("wrote checkpoint part {} ({} files, {} bytes)", target, manifest.files().size(), manifest.totalBytes());
      return sha;
    } catch (IOException e) {
      throw partFailed(target, staging, e.toString(), e);
    } catch (UncheckedIOException e) {
      throw partFailed(target, staging, e.getMessage(), e.getCause());
    } catch (RuntimeException | Error e) {
      CheckpointRoot.deleteQuietly(staging, e);
      throw e;
    }
  }

  private static UncheckedIOException partFailed(Path target, Path tmp, String detail, IOException cause) {
    UncheckedIOException e = new UncheckedIOException("cannot write checkpoint part " + target + ": " + detail, cause);
    CheckpointRoot.deleteQuietly(tmp, e);
    return e;
  }

  /**
   * Writes a trainer's part with {@link CheckpointManager}'s layout ({@code model/}, {@code optimizer/},
   * {@code training_state.json}), then {@code extra}, say an {@code hf/} copy of the weights.
   *
   * @param state its step must equal {@code step}, as {@link CheckpointManager#load} requires
   * @param extra more files for the part, listed and verified like the rest; may be null
   * @return the SHA-256 of the part's manifest, as {@link #writePart} returns it
   */
  public static String writeTrainerPart(Path partDir, String tag, long step, Map<String, Tensor> model,
      Map<String, Tensor> optimizer, TrainingState state, PartContent extra) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(optimizer, "optimizer");
    Objects.requireNonNull(state, "state");
    if (state.step() != step) {
      throw new IllegalArgumentException("state.step " + state.step() + " must equal the checkpoint step " + step);
    }
    return writePart(partDir, tag, step, dir -> {
      CheckpointManager.writeTrainerFiles(dir, model, optimizer, state, ModelSaver.DEFAULT_SHARD_BYTES);
      if (extra != null) {
        extra.write(dir);
      }
    });
  }

  /**
   * Verifies a trainer part ({@link CheckpointVerifier#verify}) and loads it like {@link CheckpointManager#load}
   * (whole tensors, a ZeRO part's pieces assembled).
   *
   * @throws CheckpointFormatException one line naming the file at fault
   */
  public static LoadedCheckpoint loadTrainerPart(Path partDir) {
    return CheckpointManager.loadVerified(partDir);
  }

  /**
   * Verifies any part against its manifest: every listed file present with the recorded size and SHA-256.
   *
   * @return the part's manifest
   * @throws CheckpointFormatException one line naming the file at fault
   */
  public static CheckpointManifest verifyPart(Path partDir) {
    Path dir = partDir.toAbsolutePath().normalize();
    CheckpointManifest manifest = CheckpointVerifier.readManifest(dir);
    CheckpointVerifier.verifyFiles(dir, manifest);
    return manifest;
  }

  /**
   * Commits a staging directory as {@code root/tag} once every part has reported. Each expected part's
   * manifest must exist, hash to the reported SHA-256 and name this tag and step; otherwise nothing is
   * committed and the staging directory stays for {@link #abort} or the next {@link #begin}. An existing
   * {@code root/tag} (a corrupt checkpoint the run rolled back past) is kept as a hidden
   * {@code .replaced-<tag>-<hex>}. Afterwards checkpoints beyond the newest {@code maxCkptNum} are deleted.
   *
   * @param partManifestSha for each expected part name, the SHA-256 its writer reported
   * @return the committed directory
   * @throws CheckpointFormatException naming the part manifest that is missing or does not match
   * @throws UncheckedIOException if writing or renaming fails
   */
  public Path commit(Path staging, String tag, long step, Map<String, String> partManifestSha) {
    Path dir = checkStaging(staging);
    CheckpointRoot.checkName("checkpoint tag", tag);
    checkStep(step);
    if (partManifestSha.isEmpty()) {
      throw new IllegalArgumentException("checkpoint " + tag + ": no parts to commit");
    }
    List<CheckpointManifest.FileEntry> parts = new ArrayList<>();
    for (String name : new TreeSet<>(partManifestSha.keySet())) {
      checkPartName(name);
      String reported = Objects.requireNonNull(partManifestSha.get(name), "SHA-256 of part " + name);
      parts.add(checkPart(dir.resolve(name).resolve(CheckpointManifest.FILE_NAME), name, tag, step, reported));
    }
    Path target = ckpts.root().resolve(tag);
    try {
      removePartLeftovers(dir);
      Path topFile = dir.resolve(CheckpointManifest.FILE_NAME);
      Files.deleteIfExists(topFile); // left by an earlier commit of this staging directory whose rename failed
      DurableFiles.writeNew(topFile, new CheckpointManifest(CheckpointManifest.FORMAT_VERSION, tag, step,
          Instant.now().toString(), parts).toBytes());
      DurableFiles.fsyncDirectory(dir);
      ckpts.publish(dir, tag, REPLACED_PREFIX);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot commit checkpoint " + target + ": " + e, e);
    }
    LOG.info("committed checkpoint {} (step {}, parts {})", target, step, partManifestSha.keySet());
    ckpts.rotate(target);
    return target;
  }

  /** The top-manifest entry of one part, after checking its manifest against the writer's report. */
  private static CheckpointManifest.FileEntry checkPart(Path file, String name, String tag, long step,
      String reported) {
    if (!Files.isRegularFile(file)) {
      throw new CheckpointFormatException(file, "part '" + name + "' is missing (not written, or its writer did not"
          + " finish)");
    }
    try {
      String sha = DurableFiles.sha256(file);
      if (!sha.equals(reported)) {
        throw new CheckpointFormatException(file, "part '" + name + "' has SHA-256 " + sha + " but its writer reported "
            + reported);
      }
      CheckpointManifest m = CheckpointManifest.read(file);
      if (!m.tag().equals(tag) || m.step() != step) {
        throw new CheckpointFormatException(file, "part '" + name + "' is for " + m.tag() + " step " + m.step()
            + ", not " + tag + " step " + step);
      }
      return new CheckpointManifest.FileEntry(name + "/" + CheckpointManifest.FILE_NAME, Files.size(file), sha);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read part '" + name + "': " + e, e);
    }
  }

  /** Hidden directories of part writes that did not finish would otherwise be committed with the parts. */
  private static void removePartLeftovers(Path staging) throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(staging, PART_TMP_PREFIX + "*")) {
      for (Path p : ds) {
        LOG.warn("removing {}, left by a checkpoint part write that did not finish", p);
        DurableFiles.deleteTree(p);
      }
    }
  }

  /** Deletes a staging directory; a failure is logged, and the next {@link #begin} retries. */
  public void abort(Path staging) {
    Path dir = checkStaging(staging);
    try {
      DurableFiles.deleteTree(dir);
      DurableFiles.fsyncDirectory(ckpts.root());
      LOG.info("aborted checkpoint staging directory {}", dir);
    } catch (UncheckedIOException e) {
      LOG.warn("cannot remove staging directory {}: {}", dir, e.getMessage());
    }
  }

  /**
   * Committed checkpoints, newest first (by step, then tag): directories whose top manifest parses and
   * lists only part manifests, each present with the recorded size and SHA-256. Anything else is
   * skipped with one WARN naming the file at fault. The parts' data files are not read here.
   */
  public List<Path> complete() {
    List<Path> out = new ArrayList<>();
    for (CheckpointRoot.Candidate c : ckpts.scan(true)) {
      try {
        checkListsOnlyParts(c.dir().resolve(CheckpointManifest.FILE_NAME), c.manifest());
        CheckpointVerifier.verifyFiles(c.dir(), c.manifest());
        out.add(c.dir());
      } catch (CheckpointFormatException | UncheckedIOException e) {
        LOG.warn("skipping checkpoint {}: {}", c.dir(), e.getMessage());
      }
    }
    return out;
  }

  /** Keeps {@link #complete()} cheap: a top manifest listing data files is not one this class wrote. */
  private static void checkListsOnlyParts(Path file, CheckpointManifest top) {
    if (top.files().isEmpty()) {
      throw new CheckpointFormatException(file, "lists no parts");
    }
    for (CheckpointManifest.FileEntry f : top.files()) {
      if (!PART_MANIFEST.matcher(f.path()).matches()) {
        throw new CheckpointFormatException(file, "lists '" + f.path() + "', which is not a part's "
            + CheckpointManifest.FILE_NAME);
      }
    }
  }

  private Path checkStaging(Path staging) {
    Path dir = staging.toAbsolutePath().normalize();
    if (!ckpts.root().equals(dir.getParent())
        || !dir.getFileName().toString().startsWith(CheckpointRoot.TMP_PREFIX)) {
      throw new IllegalArgumentException(dir + ": not a staging directory of " + ckpts.root());
    }
    return dir;
  }

  static void checkPartName(String name) {
    CheckpointRoot.checkName("part name", name);
    if (name.equals(CheckpointManifest.FILE_NAME)) {
      throw new IllegalArgumentException("part name '" + name + "' is the top manifest's name");
    }
  }

  private static void checkStep(long step) {
    if (step < 0) {
      throw new IllegalArgumentException("step must be ≥ 0, got " + step);
    }
  }
}
