package org.rlhfnode.runtime.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.model.ModelSaver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Crash-safe training checkpoints under one root directory ({@code --ckpt_path}), one directory per
 * tag ({@code global_step_40}) holding {@code model/} and {@code optimizer/} (safetensors, sharded
 * above a size limit, tensors in their own dtype), {@code training_state.json} and, written last,
 * {@code manifest.json} with every file's size and SHA-256.
 *
 * <p>A save is written into a hidden temporary directory beside the others, every file and directory
 * is fsynced, the manifest is written and fsynced, and only then is the directory renamed to its tag
 * and the root fsynced. So a directory named after a tag is always complete; a crash leaves at most a
 * hidden {@code .tmp-*} directory, which {@link #latest()} ignores and the next save removes. After
 * each save the newest {@code maxCkptNum} checkpoints (by step) are kept and older complete ones
 * deleted ({@code --max_ckpt_num}); the one just written is never deleted, even if it is not among
 * the newest. Directories without a manifest are left alone.
 *
 * <p>One process writes a root at a time (rank 0 in a distributed run). Loaded tensors are CPU
 * tensors owned by the caller's {@code PointerScope}.
 */
public final class CheckpointManager {
  /** Sub-directory of a checkpoint holding the model weights. */
  public static final String MODEL_DIR = "model";
  /** Sub-directory of a checkpoint holding the optimizer state. */
  public static final String OPTIMIZER_DIR = "optimizer";
  /** File of a checkpoint holding the {@link TrainingState}. */
  public static final String STATE_FILE = StateJson.FILE_NAME;
  private static final String TMP_PREFIX = ".tmp-";
  private static final String TRASH_PREFIX = ".trash-";
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,199}");
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointManager.class);

  /** Test seam: runs on the temporary directory after the data files are fsynced, before the manifest. */
  @FunctionalInterface
  interface BeforeManifest {
    void run(Path tmpDir) throws IOException;
  }

  private final Path root;
  private final int maxCkptNum;
  private final long maxShardBytes;
  private BeforeManifest beforeManifest = tmpDir -> { };

  /** A manager with HF's default shard size (5 GB). */
  public CheckpointManager(Path ckptRoot, int maxCkptNum) {
    this(ckptRoot, maxCkptNum, ModelSaver.DEFAULT_SHARD_BYTES);
  }

  /**
   * @param ckptRoot directory holding the checkpoints; created on the first save
   * @param maxCkptNum how many checkpoints to keep, ≥ 1
   * @param maxShardBytes largest tensor data per safetensors file
   */
  public CheckpointManager(Path ckptRoot, int maxCkptNum, long maxShardBytes) {
    this.root = Objects.requireNonNull(ckptRoot, "ckptRoot").toAbsolutePath().normalize();
    if (maxCkptNum < 1) {
      throw new IllegalArgumentException("max_ckpt_num must be ≥ 1, got " + maxCkptNum);
    }
    if (maxShardBytes <= 0) {
      throw new IllegalArgumentException("maxShardBytes must be > 0, got " + maxShardBytes);
    }
    this.maxCkptNum = maxCkptNum;
    this.maxShardBytes = maxShardBytes;
  }

  /** Installs a {@link BeforeManifest} hook; tests use it to simulate a crash mid-save. */
  void beforeManifestForTest(BeforeManifest hook) {
    this.beforeManifest = Objects.requireNonNull(hook, "hook");
  }

  /** OpenRLHF's tag for the checkpoint after {@code step} optimizer steps. */
  public static String stepTag(long step) {
    return "global_step_" + step;
  }

  /** The checkpoint root. */
  public Path root() {
    return root;
  }

  /**
   * Saves a checkpoint as {@code root/tag}, replacing an existing one of that tag, then deletes
   * checkpoints beyond the newest {@code maxCkptNum}.
   *
   * @param tag directory name: letters, digits, '_', '.', '-', not starting with '.'
   * @param modelWeights tensors on any device; saved in their own dtype
   * @param optimizerState {@code Optimizer#exportState()}; may be empty
   * @return the checkpoint directory
   * @throws UncheckedIOException if writing fails; then no new {@code tag} directory appears and an existing one is kept
   */
  public Path save(String tag, Map<String, Tensor> modelWeights, Map<String, Tensor> optimizerState,
      TrainingState state) {
    checkTag(tag);
    Objects.requireNonNull(modelWeights, "modelWeights");
    Objects.requireNonNull(optimizerState, "optimizerState");
    Objects.requireNonNull(state, "state");
    Path tmp = root.resolve(TMP_PREFIX + tag + "-" + randomHex());
    try {
      Files.createDirectories(root);
      removeLeftovers();
      CheckpointManifest manifest = writeContent(tmp, tag, modelWeights, optimizerState, state);
      Path target = publish(tmp, tag);
      LOG.info("saved checkpoint {} (step {}, {} files, {} bytes)", target, state.step(), manifest.files().size(),
          manifest.totalBytes());
      rotate(target);
      return target;
    } catch (IOException e) {
      deleteQuietly(tmp, e);
      throw new UncheckedIOException("cannot save checkpoint " + root.resolve(tag) + ": " + e, e);
    } catch (RuntimeException | Error e) {
      deleteQuietly(tmp, e);
      throw e;
    }
  }

  private static void checkTag(String tag) {
    if (tag == null || !TAG.matcher(tag).matches()) {
      throw new IllegalArgumentException("checkpoint tag '" + tag + "' must be 1-200 letters, digits, '_', '.' or '-'"
          + " and not start with '.'");
    }
  }

  /** Writes everything into {@code tmp}, fsyncs it all, then writes the manifest last. */
  private CheckpointManifest writeContent(Path tmp, String tag, Map<String, Tensor> modelWeights,
      Map<String, Tensor> optimizerState, TrainingState state) throws IOException {
    Files.createDirectory(tmp);
    TensorFiles.write(tmp.resolve(MODEL_DIR), modelWeights, maxShardBytes);
    TensorFiles.write(tmp.resolve(OPTIMIZER_DIR), optimizerState, maxShardBytes);
    DurableFiles.writeNew(tmp.resolve(STATE_FILE), StateJson.toBytes(state));
    List<CheckpointManifest.FileEntry> entries = new ArrayList<>();
    for (Path rel : DurableFiles.regularFiles(tmp)) {
      Path file = tmp.resolve(rel);
      DurableFiles.fsyncFile(file);
      entries.add(new CheckpointManifest.FileEntry(slashed(rel), Files.size(file), DurableFiles.sha256(file)));
    }
    DurableFiles.directories(tmp).forEach(DurableFiles::fsyncDirectory);
    beforeManifest.run(tmp);
    CheckpointManifest manifest = new CheckpointManifest(CheckpointManifest.FORMAT_VERSION, tag, state.step(),
        Instant.now().toString(), entries);
    DurableFiles.writeNew(tmp.resolve(CheckpointManifest.FILE_NAME), manifest.toBytes());
    DurableFiles.fsyncDirectory(tmp);
    return manifest;
  }

  static String slashed(Path rel) {
    return rel.toString().replace(rel.getFileSystem().getSeparator(), "/");
  }

  /**
   * Renames the finished directory to its tag. An existing checkpoint of that tag is moved aside
   * first and put back if the rename fails, so a failed save never costs the earlier checkpoint.
   */
  private Path publish(Path tmp, String tag) throws IOException {
    Path target = root.resolve(tag);
    Path trash = null;
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      trash = root.resolve(TRASH_PREFIX + tag + "-" + randomHex());
      Files.move(target, trash, StandardCopyOption.ATOMIC_MOVE);
      LOG.warn("replacing existing checkpoint {}", target);
    }
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      if (trash != null) {
        Files.move(trash, target, StandardCopyOption.ATOMIC_MOVE);
      }
      throw e;
    }
    DurableFiles.fsyncDirectory(root);
    if (trash != null) {
      DurableFiles.deleteTree(trash);
    }
    return target;
  }

  /** Deletes complete checkpoints beyond the newest {@code maxCkptNum}, never {@code justWritten}. */
  private void rotate(Path justWritten) {
    List<Candidate> complete = scan(false);
    for (int i = maxCkptNum; i < complete.size(); i++) {
      Path dir = complete.get(i).dir();
      if (dir.equals(justWritten)) {
        continue;
      }
      try {
        Path trash = root.resolve(TRASH_PREFIX + dir.getFileName() + "-" + randomHex());
        // Renamed first, so a crash mid-delete never leaves a half-deleted directory under a tag name.
        Files.move(dir, trash, StandardCopyOption.ATOMIC_MOVE);
        DurableFiles.deleteTree(trash);
        LOG.info("deleted old checkpoint {} (max_ckpt_num {})", dir, maxCkptNum);
      } catch (IOException | UncheckedIOException e) {
        LOG.warn("cannot delete old checkpoint {}: {}", dir, e.getMessage());
      }
    }
  }

  /** Removes hidden directories of saves or deletions that a crash interrupted. */
  private void removeLeftovers() throws IOException {
    for (Path p : entries()) {
      String name = p.getFileName().toString();
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
          && (name.startsWith(TMP_PREFIX) || name.startsWith(TRASH_PREFIX))) {
        LOG.warn("removing {}, left by an interrupted checkpoint save or deletion", p);
        DurableFiles.deleteTree(p);
      }
    }
  }

  /**
   * The newest complete checkpoint: a tag directory whose manifest is present and whose files all
   * match their recorded sizes and checksums. Leftover temporary directories, directories without a
   * manifest and checkpoints that fail verification are skipped, each with a WARN saying why.
   */
  public Optional<Path> latest() {
    for (Candidate c : scan(true)) {
      try {
        CheckpointVerifier.verify(c.dir());
        return Optional.of(c.dir());
      } catch (CheckpointFormatException | UncheckedIOException e) {
        LOG.warn("skipping checkpoint {}: {}", c.dir(), e.getMessage());
      }
    }
    return Optional.empty();
  }

  /**
   * Loads the newest complete checkpoint, skipping (with a WARN) any that fails verification as
   * {@link #latest()} does; each checkpoint is verified once, by {@link #load}.
   */
  public Optional<LoadedCheckpoint> loadLatest() {
    for (Candidate c : scan(true)) {
      try {
        return Optional.of(load(c.dir()));
      } catch (CheckpointFormatException | UncheckedIOException e) {
        LOG.warn("skipping checkpoint {}: {}", c.dir(), e.getMessage());
      }
    }
    return Optional.empty();
  }

  /** A tag directory and its (parsed, not yet verified) manifest. */
  private record Candidate(Path dir, CheckpointManifest manifest) {}

  /** Checkpoint directories with a readable manifest, newest first (by step, then by tag). */
  private List<Candidate> scan(boolean warn) {
    List<Candidate> out = new ArrayList<>();
    for (Path p : entriesOrEmpty()) {
      String name = p.getFileName().toString();
      if (!Files.isDirectory(p)) {
        continue;
      }
      if (name.startsWith(".")) {
        if (warn && (name.startsWith(TMP_PREFIX) || name.startsWith(TRASH_PREFIX))) {
          LOG.warn("ignoring {}: temporary directory of a checkpoint save or deletion that did not finish", p);
        }
        continue;
      }
      Path manifest = p.resolve(CheckpointManifest.FILE_NAME);
      if (!Files.isRegularFile(manifest)) {
        if (warn) {
          LOG.warn("ignoring {}: no {} (incomplete save)", p, CheckpointManifest.FILE_NAME);
        }
        continue;
      }
      try {
        out.add(new Candidate(p, CheckpointManifest.read(manifest)));
      } catch (CheckpointFormatException | UncheckedIOException e) {
        if (warn) {
          LOG.warn("ignoring {}: {}", p, e.getMessage());
        }
      }
    }
    out.sort(Comparator.comparingLong((Candidate c) -> c.manifest().step())
        .thenComparing(c -> c.dir().getFileName().toString()).reversed());
    return out;
  }

  private List<Path> entriesOrEmpty() {
    try {
      return Files.isDirectory(root) ? entries() : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root + ": " + e, e);
    }
  }

  private List<Path> entries() throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      ds.forEach(out::add);
    }
    return out;
  }

  /**
   * Reads a checkpoint after verifying it ({@link CheckpointVerifier#verify}).
   *
   * @throws CheckpointFormatException one line naming the file at fault, e.g. a checksum mismatch
   * @throws UncheckedIOException if a file cannot be read
   */
  public LoadedCheckpoint load(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    CheckpointManifest manifest = CheckpointVerifier.verify(abs);
    Path stateFile = abs.resolve(STATE_FILE);
    TrainingState state = StateJson.read(stateFile);
    if (state.step() != manifest.step()) {
      throw new CheckpointFormatException(stateFile, "step " + state.step() + " but " + CheckpointManifest.FILE_NAME
          + " says " + manifest.step());
    }
    Map<String, Tensor> model = TensorFiles.read(abs.resolve(MODEL_DIR));
    Map<String, Tensor> optimizer = TensorFiles.read(abs.resolve(OPTIMIZER_DIR));
    LOG.info("loaded checkpoint {} (step {}, {} weights, {} optimizer entries)", abs, state.step(), model.size(),
        optimizer.size());
    return new LoadedCheckpoint(abs, manifest, model, optimizer, state);
  }

  private static String randomHex() {
    return Long.toHexString(ThreadLocalRandom.current().nextLong());
  }

  private static void deleteQuietly(Path dir, Throwable primary) {
    try {
      DurableFiles.deleteTree(dir);
    } catch (UncheckedIOException e) {
      primary.addSuppressed(e);
    }
  }
}
