package org.rlhfnode.runtime.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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
 * <p>The tensors are in one of two layouts ({@link SavedTensors} reads both): consolidated, as above,
 * or, for ZeRO over N &gt; 1 ranks, {@code zero/} with one file per rank ({@link ZeroLayout}). Several
 * ranks write one checkpoint through {@link #sharedStaging}: rank 0 {@link #beginShared begins} it,
 * every rank writes its files into it, and rank 0 {@link #commit commits} it once all have.
 *
 * <p>One process commits to a root at a time (rank 0 in a distributed run). Loaded tensors are CPU
 * tensors owned by the caller's {@code PointerScope}.
 */
public final class CheckpointManager {
  /** Sub-directory of a checkpoint holding the model weights. */
  public static final String MODEL_DIR = "model";
  /** Sub-directory of a checkpoint holding the optimizer state. */
  public static final String OPTIMIZER_DIR = "optimizer";
  /** File of a checkpoint holding the {@link TrainingState}. */
  public static final String STATE_FILE = StateJson.FILE_NAME;
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointManager.class);

  /** Test seam: runs on the temporary directory after the data files are fsynced, before the manifest. */
  @FunctionalInterface
  interface BeforeManifest {
    void run(Path tmpDir) throws IOException;
  }

  private final CheckpointRoot ckpts;
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
    this.ckpts = new CheckpointRoot(ckptRoot, maxCkptNum, LOG);
    if (maxShardBytes <= 0) {
      throw new IllegalArgumentException("maxShardBytes must be > 0, got " + maxShardBytes);
    }
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
    return ckpts.root();
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
    CheckpointRoot.checkName("checkpoint tag", tag);
    Objects.requireNonNull(modelWeights, "modelWeights");
    Objects.requireNonNull(optimizerState, "optimizerState");
    Objects.requireNonNull(state, "state");
    Path tmp = ckpts.hidden(CheckpointRoot.TMP_PREFIX, tag);
    try {
      create(tmp);
      writeTrainerFiles(tmp, modelWeights, optimizerState, state, maxShardBytes);
    } catch (IOException e) {
      CheckpointRoot.deleteQuietly(tmp, e);
      throw new UncheckedIOException("cannot save checkpoint " + ckpts.root().resolve(tag) + ": " + e, e);
    } catch (RuntimeException | Error e) {
      CheckpointRoot.deleteQuietly(tmp, e);
      throw e;
    }
    return commit(tmp, tag, state.step());
  }

  private void create(Path staging) throws IOException {
    org.rlhfnode.runtime.io.OwnerOnly.createDirectories(ckpts.root());
    ckpts.removeLeftovers();
    Files.createDirectory(staging);
  }

  /**
   * The staging directory of a checkpoint that several ranks write together, {@code root/.tmp-<tag>-ranks}:
   * derived from the tag alone, so that every rank names the same one without a message.
   */
  public Path sharedStaging(String tag) {
    CheckpointRoot.checkName("checkpoint tag", tag);
    return ckpts.root().resolve(CheckpointRoot.TMP_PREFIX + tag + "-ranks");
  }

  /**
   * Rank 0, before the others write: removes leftovers of interrupted saves (an earlier try at this tag
   * among them), then creates the empty directory {@code staging} ({@link #sharedStaging}).
   *
   * @throws UncheckedIOException naming the directory
   */
  public void beginShared(Path staging) {
    try {
      create(staging);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create staging directory " + staging + ": " + e, e);
    }
  }

  /**
   * Rank 0, once every file is in {@code staging}: fsyncs them, writes the manifest listing every file
   * (all ranks' files) last, renames the directory to {@code root/tag} (an existing one is replaced) and
   * deletes checkpoints beyond the newest {@code maxCkptNum}.
   *
   * @return the checkpoint directory
   * @throws UncheckedIOException if a step fails; then {@code staging} is removed and an existing {@code tag} kept
   */
  public Path commit(Path staging, String tag, long step) {
    CheckpointRoot.checkName("checkpoint tag", tag);
    Path target = ckpts.root().resolve(tag);
    try {
      CheckpointManifest manifest = seal(staging, tag, step, beforeManifest);
      Path trash = ckpts.publish(staging, tag, CheckpointRoot.TRASH_PREFIX);
      if (trash != null) {
        DurableFiles.deleteTree(trash);
      }
      LOG.info("saved checkpoint {} (step {}, {} files, {} bytes)", target, step, manifest.files().size(),
          manifest.totalBytes());
    } catch (IOException e) {
      CheckpointRoot.deleteQuietly(staging, e);
      throw new UncheckedIOException("cannot save checkpoint " + target + ": " + e, e);
    } catch (RuntimeException | Error e) {
      CheckpointRoot.deleteQuietly(staging, e);
      throw e;
    }
    ckpts.rotate(target);
    return target;
  }

  /** Removes a staging directory whose save failed; a failure to remove is logged (the next save retries). */
  public void abort(Path staging) {
    try {
      DurableFiles.deleteTree(staging);
    } catch (UncheckedIOException e) {
      LOG.warn("cannot remove staging directory {}: {}", staging, e.getMessage());
    }
  }

  /** Writes {@code training_state.json} (fsynced; it must not exist) into the checkpoint directory {@code dir}. */
  public static void writeState(Path dir, TrainingState state) throws IOException {
    DurableFiles.writeNew(dir.resolve(STATE_FILE), StateJson.toBytes(state));
  }

  /** Writes the trainer layout into the existing directory {@code dir}: model/, optimizer/ and the state file. */
  static void writeTrainerFiles(Path dir, Map<String, Tensor> modelWeights, Map<String, Tensor> optimizerState,
      TrainingState state, long maxShardBytes) throws IOException {
    TensorFiles.write(dir.resolve(MODEL_DIR), modelWeights, maxShardBytes);
    TensorFiles.write(dir.resolve(OPTIMIZER_DIR), optimizerState, maxShardBytes);
    writeState(dir, state);
  }

  /**
   * Fsyncs every file and directory under {@code dir}, runs {@code hook}, then writes and fsyncs
   * {@code manifest.json} listing every file (sorted, '/'-separated) with its size and SHA-256.
   */
  static CheckpointManifest seal(Path dir, String tag, long step, BeforeManifest hook) throws IOException {
    List<CheckpointManifest.FileEntry> entries = new ArrayList<>();
    for (Path rel : DurableFiles.regularFiles(dir)) {
      Path file = dir.resolve(rel);
      DurableFiles.fsyncFile(file);
      entries.add(new CheckpointManifest.FileEntry(slashed(rel), Files.size(file), DurableFiles.sha256(file)));
    }
    DurableFiles.directories(dir).forEach(DurableFiles::fsyncDirectory);
    hook.run(dir);
    CheckpointManifest manifest = new CheckpointManifest(CheckpointManifest.FORMAT_VERSION, tag, step,
        Instant.now().toString(), entries);
    DurableFiles.writeNew(dir.resolve(CheckpointManifest.FILE_NAME), manifest.toBytes());
    DurableFiles.fsyncDirectory(dir);
    return manifest;
  }

  static String slashed(Path rel) {
    return rel.toString().replace(rel.getFileSystem().getSeparator(), "/");
  }

  /**
   * The newest complete checkpoint: a tag directory whose manifest is present and whose files all
   * match their recorded sizes and checksums. Leftover temporary directories, directories without a
   * manifest and checkpoints that fail verification are skipped, each with a WARN saying why.
   */
  public Optional<Path> latest() {
    for (CheckpointRoot.Candidate c : ckpts.scan(true)) {
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
    for (CheckpointRoot.Candidate c : ckpts.scan(true)) {
      try {
        return Optional.of(load(c.dir()));
      } catch (CheckpointFormatException | UncheckedIOException e) {
        LOG.warn("skipping checkpoint {}: {}", c.dir(), e.getMessage());
      }
    }
    return Optional.empty();
  }

  /**
   * Reads a checkpoint after verifying it ({@link CheckpointVerifier#verify}); a ZeRO checkpoint's pieces
   * are assembled into whole tensors in the one-rank names, as a consolidated one holds them.
   *
   * @throws CheckpointFormatException one line naming the file at fault, e.g. a checksum mismatch
   * @throws UncheckedIOException if a file cannot be read
   */
  public LoadedCheckpoint load(Path dir) {
    return loadVerified(dir);
  }

  /** {@link #load}, which needs no manager: also used for the trainer parts of {@link RunCheckpoints}. */
  static LoadedCheckpoint loadVerified(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    CheckpointManifest manifest = CheckpointVerifier.verify(abs);
    TrainingState state = readState(abs, manifest);
    Map<String, Tensor> model;
    Map<String, Tensor> optimizer;
    try (SavedTensors saved = SavedTensors.open(abs)) {
      model = saved.wholeWeights();
      optimizer = saved.wholeOptimizer();
    }
    LOG.info("loaded checkpoint {} (step {}, {} weights, {} optimizer entries)", abs, state.step(), model.size(),
        optimizer.size());
    return new LoadedCheckpoint(abs, manifest, model, optimizer, state);
  }

  /**
   * The {@link TrainingState} of checkpoint {@code dir} (its file checked against the manifest, size and
   * SHA-256, and its step against the manifest's) without reading the tensors: what each rank reads
   * besides {@link SavedTensors} after rank 0 has verified the whole checkpoint.
   *
   * @throws CheckpointFormatException naming the file at fault
   */
  public static TrainingState readState(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    CheckpointManifest manifest = CheckpointVerifier.readManifest(abs);
    CheckpointVerifier.verifyListed(abs, manifest, STATE_FILE);
    return readState(abs, manifest);
  }

  private static TrainingState readState(Path dir, CheckpointManifest manifest) {
    Path stateFile = dir.resolve(STATE_FILE);
    TrainingState state = StateJson.read(stateFile);
    if (state.step() != manifest.step()) {
      throw new CheckpointFormatException(stateFile, "step " + state.step() + " but " + CheckpointManifest.FILE_NAME
          + " says " + manifest.step());
    }
    return state;
  }
}
