package org.rlhfnode.runtime.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.rlhfnode.runtime.checkpoint.CheckpointManager;
import org.rlhfnode.runtime.checkpoint.CheckpointManifest;
import org.rlhfnode.runtime.checkpoint.CheckpointVerifier;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The checkpoint steps the ranks of a group take together (on one rank, the plain steps).
 *
 * <p>Saving ({@link #save}): rank 0 creates the staging directory, every rank writes its own files into
 * it, rank 0 seals and publishes it. After each phase the ranks agree through one all-reduce of N
 * flags (flag r = 1 when rank r failed), so a failure on any rank leaves them in step: rank 0 removes the
 * staging directory, nothing is published, and every rank throws — the rank that failed its own error
 * (also logged, since only one rank's error reaches the caller of a group), the others one line naming
 * the ranks that failed.
 *
 * <p>Loading ({@link #verifyOnFirst}, {@link #latest}): rank 0 verifies the whole checkpoint, every
 * file's SHA-256 once for the group, and the others learn its verdict; then each rank reads only what it
 * keeps.
 */
public final class RankedCheckpoint {
  private static final Logger LOG = LoggerFactory.getLogger(RankedCheckpoint.class);

  /** One rank's part of a phase. */
  @FunctionalInterface
  public interface Step {
    void run() throws IOException;
  }

  /** Rank 0's sealing of the written directory, with its result (a path, a checksum). */
  @FunctionalInterface
  public interface Seal<T> {
    T run() throws IOException;
  }

  private RankedCheckpoint() {}

  /**
   * Writes one checkpoint directory from every rank; collective.
   *
   * @param what the checkpoint, for messages ({@code "checkpoint /ckpt/global_step_8"})
   * @param begin rank 0: creates the (empty) staging directory every rank knows
   * @param write every rank: its own files
   * @param seal rank 0: the manifest, then the rename into place
   * @param abort rank 0, when a phase failed on some rank: removes the staging directory
   * @return rank 0's seal result; null on the other ranks
   */
  public static <T> T save(Collectives c, String what, Step begin, Step write, Seal<T> seal, Runnable abort) {
    agree(c, what, attempt(c.isFirst() ? begin : () -> { }, what), null);
    agree(c, what, attempt(write, what), abort);
    List<T> sealed = new ArrayList<>(1);
    agree(c, what, attempt(() -> {
      if (c.isFirst()) {
        sealed.add(seal.run());
      }
    }, what), abort);
    return sealed.isEmpty() ? null : sealed.get(0);
  }

  private static RuntimeException attempt(Step step, String what) {
    try {
      step.run();
      return null;
    } catch (IOException e) {
      return new UncheckedIOException("cannot save " + what + ": " + e, e);
    } catch (RuntimeException e) {
      return e;
    }
  }

  /** Throws on every rank when a phase failed on any; {@code abort} runs on rank 0 first. */
  private static void agree(Collectives c, String what, RuntimeException own, Runnable abort) {
    double[] flags = new double[c.worldSize()];
    flags[c.rank()] = own == null ? 0 : 1;
    double[] all = c.sum(flags);
    List<Integer> failed = new ArrayList<>();
    for (int r = 0; r < all.length; r++) {
      if (all[r] > 0) {
        failed.add(r);
      }
    }
    if (failed.isEmpty()) {
      return;
    }
    if (abort != null && c.isFirst()) {
      abort.run();
    }
    if (own != null) {
      if (c.worldSize() > 1) {
        LOG.error("{} failed on {}: {}", what, c.describe(), own.getMessage());
      }
      throw own;
    }
    throw new IllegalStateException("cannot save " + what + ": it failed on rank(s) " + failed + " of "
        + c.worldSize() + " (each logged its own error)");
  }

  /**
   * Rank 0 verifies checkpoint directory {@code dir} against its manifest ({@link CheckpointVerifier#verify});
   * every rank returns, or throws, together. Collective.
   *
   * @throws CheckpointFormatException on rank 0 the verifier's error naming the file, on the others one
   *     naming {@code dir}
   */
  public static void verifyOnFirst(Collectives c, Path dir) {
    RuntimeException own = null;
    if (c.isFirst()) {
      try {
        CheckpointVerifier.verify(dir.toAbsolutePath().normalize());
      } catch (RuntimeException e) {
        own = e;
      }
    }
    if (c.sum(own == null ? 0 : 1) == 0) {
      return;
    }
    if (own != null) {
      throw own;
    }
    throw new CheckpointFormatException(dir, "rank 0 found this checkpoint damaged (its error names the file)");
  }

  /**
   * The newest complete checkpoint under {@code checkpoints}: rank 0 finds and verifies it
   * ({@link CheckpointManager#latest()}) and shares its step, the others name it {@code global_step_<step>}.
   * Collective.
   */
  public static Optional<Path> latest(Collectives c, CheckpointManager checkpoints) {
    Path chosen = null;
    RuntimeException own = null;
    double code = 0; // 0: none; step + 1; -1: rank 0 failed
    if (c.isFirst()) {
      try {
        chosen = checkpoints.latest().orElse(null);
        if (chosen != null) {
          long step = CheckpointManifest.read(chosen.resolve(CheckpointManifest.FILE_NAME)).step();
          String tag = CheckpointManager.stepTag(step);
          if (c.worldSize() > 1 && !chosen.getFileName().toString().equals(tag)) {
            throw new IllegalArgumentException(chosen + ": holds step " + step + " but is not named " + tag
                + ", the name the other ranks look for");
          }
          code = step + 1;
        }
      } catch (RuntimeException e) {
        own = e;
        code = -1;
      }
    }
    double shared = c.sum(code);
    if (shared < 0) {
      throw own != null ? own : new IllegalStateException(checkpoints.root()
          + ": rank 0 could not choose a checkpoint to resume from (its error says why)");
    }
    if (shared == 0) {
      return Optional.empty();
    }
    long step = (long) shared - 1;
    return Optional.of(chosen != null ? chosen : checkpoints.root().resolve(CheckpointManager.stepTag(step)));
  }
}
