package org.rlhfnode.runtime.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link RunCheckpoints} part that the ranks of one trainer write together, each rank its own files
 * (a ZeRO rank file; rank 0 also the layout, the training state and {@code hf/}): rank 0 {@link #begin}s
 * the staging directory {@link #staging}, which every rank derives from the part's path alone, every
 * rank writes into it, and rank 0 {@link #commit}s it once all have, so that the part's manifest lists
 * every rank's file.
 */
public final class SharedPart {
  private static final Logger LOG = LoggerFactory.getLogger(SharedPart.class);

  private SharedPart() {}

  /** The hidden staging directory {@code .part-<name>-ranks} beside {@code partDir}. */
  public static Path staging(Path partDir) {
    Path target = partDir.toAbsolutePath().normalize();
    String name = String.valueOf(target.getFileName());
    RunCheckpoints.checkPartName(name);
    return target.resolveSibling(RunCheckpoints.PART_TMP_PREFIX + name + "-ranks");
  }

  /**
   * Rank 0, before the ranks write: checks that {@code partDir} is not written yet, removes what an
   * earlier try left in {@link #staging} and creates it empty.
   *
   * @return the staging directory
   * @throws UncheckedIOException one line naming {@code partDir}
   */
  public static Path begin(Path partDir) {
    Path target = partDir.toAbsolutePath().normalize();
    Path staging = staging(target);
    try {
      RunCheckpoints.requireUnwritten(target);
      DurableFiles.deleteTree(staging);
      Files.createDirectory(staging);
      return staging;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint part " + target + ": " + e, e);
    }
  }

  /**
   * Rank 0, once every rank has written: seals {@code staging} (the manifest, listing every file with its
   * size and SHA-256, last) and renames it to {@code partDir}; on failure {@code staging} is removed.
   *
   * @return the lower-case hex SHA-256 of the part's {@code manifest.json}
   * @throws UncheckedIOException one line naming {@code partDir}
   */
  public static String commit(Path staging, Path partDir, String tag, long step) {
    return RunCheckpoints.commitPart(staging, partDir, tag, step);
  }

  /** Removes the staging directory of a part whose write failed; a failure to remove is logged. */
  public static void abort(Path staging) {
    try {
      DurableFiles.deleteTree(staging);
    } catch (UncheckedIOException e) {
      LOG.warn("cannot remove part staging directory {}: {}", staging, e.getMessage());
    }
  }
}
