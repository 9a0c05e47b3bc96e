package org.rlhfnode.runtime.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.slf4j.Logger;

/**
 * A directory of checkpoints as {@link CheckpointManager} and {@link RunCheckpoints} both keep it: one
 * non-hidden sub-directory per tag, committed by its {@code manifest.json}, next to hidden
 * {@code .tmp-*} directories of saves in progress and {@code .trash-*} directories of deletions. It
 * finds the committed checkpoints newest first, publishes a finished hidden directory under its tag by
 * an atomic rename, rotates to the newest {@code maxCkptNum} and removes leftovers of interrupted
 * saves; other hidden directories are never touched. Log lines go to the owner's logger.
 */
final class CheckpointRoot {
  static final String TMP_PREFIX = ".tmp-";
  static final String TRASH_PREFIX = ".trash-";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,199}");

  /** A tag directory and its (parsed, not yet verified) manifest. */
  record Candidate(Path dir, CheckpointManifest manifest) {}

  private final Path root;
  private final int maxCkptNum;
  private final Logger log;

  /**
   * @param root directory holding the checkpoints; made absolute and normalised
   * @param maxCkptNum how many checkpoints rotation keeps, ≥ 1
   * @param log the owner's logger
   */
  CheckpointRoot(Path root, int maxCkptNum, Logger log) {
    this.root = Objects.requireNonNull(root, "ckptRoot").toAbsolutePath().normalize();
    if (maxCkptNum < 1) {
      throw new IllegalArgumentException("max_ckpt_num must be ≥ 1, got " + maxCkptNum);
    }
    this.maxCkptNum = maxCkptNum;
    this.log = Objects.requireNonNull(log, "log");
  }

  Path root() {
    return root;
  }

  /** Checks that {@code name} is a plain, non-hidden directory name; {@code what} names it in the error. */
  static void checkName(String what, String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(what + " '" + name + "' must be 1-200 letters, digits, '_', '.' or '-'"
          + " and not start with '.'");
    }
  }

  /** A fresh hidden path {@code root/<prefix><tag>-<hex>}. */
  Path hidden(String prefix, String tag) {
    return root.resolve(prefix + tag + "-" + randomHex());
  }

  static String randomHex() {
    return Long.toHexString(ThreadLocalRandom.current().nextLong());
  }

  /** Deletes {@code dir}, recording a failure as suppressed by {@code primary}. */
  static void deleteQuietly(Path dir, Throwable primary) {
    try {
      DurableFiles.deleteTree(dir);
    } catch (UncheckedIOException e) {
      primary.addSuppressed(e);
    }
  }

  /** Removes hidden directories of saves or deletions that a crash interrupted. */
  void removeLeftovers() throws IOException {
    for (Path p : entries()) {
      String name = p.getFileName().toString();
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
          && (name.startsWith(TMP_PREFIX) || name.startsWith(TRASH_PREFIX))) {
        log.warn("removing {}, left by an interrupted checkpoint save or deletion", p);
        DurableFiles.deleteTree(p);
      }
    }
  }

  /**
   * Renames the finished directory {@code tmp} to {@code root/tag} and fsyncs the root. An existing
   * directory of that tag is first renamed to a hidden {@code <asidePrefix><tag>-<hex>} and put back
   * if the rename fails, so a failed publish never costs the earlier checkpoint.
   *
   * @return the directory the earlier checkpoint was moved to, or null when there was none
   */
  Path publish(Path tmp, String tag, String asidePrefix) throws IOException {
    Path target = root.resolve(tag);
    Path aside = null;
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      aside = hidden(asidePrefix, tag);
      log.warn("replacing existing checkpoint {} (moved aside to {})", target, aside.getFileName());
      Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
    }
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      if (aside != null) {
        Files.move(aside, target, StandardCopyOption.ATOMIC_MOVE);
      }
      throw e;
    }
    DurableFiles.fsyncDirectory(root);
    return aside;
  }

  /** Deletes committed checkpoints beyond the newest {@code maxCkptNum}, never {@code justWritten}. */
  void rotate(Path justWritten) {
    List<Candidate> committed = scan(false);
    for (int i = maxCkptNum; i < committed.size(); i++) {
      Path dir = committed.get(i).dir();
      if (dir.equals(justWritten)) {
        continue;
      }
      try {
        Path trash = hidden(TRASH_PREFIX, dir.getFileName().toString());
        // Renamed first, so a crash mid-delete never leaves a half-deleted directory under a tag name.
        Files.move(dir, trash, StandardCopyOption.ATOMIC_MOVE);
        DurableFiles.deleteTree(trash);
        log.info("deleted old checkpoint {} (max_ckpt_num {})", dir, maxCkptNum);
      } catch (IOException | UncheckedIOException e) {
        log.warn("cannot delete old checkpoint {}: {}", dir, e.getMessage());
      }
    }
  }

  /** Checkpoint directories with a readable manifest, newest first (by step, then by tag). */
  List<Candidate> scan(boolean warn) {
    List<Candidate> out = new ArrayList<>();
    for (Path p : entriesOrEmpty()) {
      String name = p.getFileName().toString();
      if (!Files.isDirectory(p)) {
        continue;
      }
      if (name.startsWith(".")) {
        if (warn && (name.startsWith(TMP_PREFIX) || name.startsWith(TRASH_PREFIX))) {
          log.warn("ignoring {}: temporary directory of a checkpoint save or deletion that did not finish", p);
        }
        continue;
      }
      Path manifest = p.resolve(CheckpointManifest.FILE_NAME);
      if (!Files.isRegularFile(manifest)) {
        if (warn) {
          log.warn("ignoring {}: no {} (incomplete save)", p, CheckpointManifest.FILE_NAME);
        }
        continue;
      }
      try {
        out.add(new Candidate(p, CheckpointManifest.read(manifest)));
      } catch (CheckpointFormatException | UncheckedIOException e) {
        if (warn) {
          log.warn("ignoring {}: {}", p, e.getMessage());
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
}
