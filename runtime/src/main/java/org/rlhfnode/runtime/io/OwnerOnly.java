package org.rlhfnode.runtime.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Directories a run creates for what it writes (save path, checkpoints, metrics) are owner-only (0700): what
 * lies inside (weights, optimizer state, logs) is then out of other users' reach whatever its own mode. A
 * directory that already exists keeps the mode its owner gave it.
 */
public final class OwnerOnly {
  private OwnerOnly() {}

  /** {@link Files#createDirectories}, each directory it creates made owner-only. */
  public static Path createDirectories(Path dir) throws IOException {
    Path absolute = dir.toAbsolutePath().normalize();
    Path first = absolute;
    while (first.getParent() != null && !Files.exists(first.getParent())) {
      first = first.getParent();
    }
    boolean existed = Files.exists(absolute);
    Files.createDirectories(absolute);
    if (!existed) {
      for (Path p = absolute; p != null && p.startsWith(first); p = p.getParent()) {
        restrict(p);
      }
    }
    return dir;
  }

  private static void restrict(Path p) throws IOException {
    try {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: its own access rules apply
    }
  }
}
