package org.rlhfnode.runtime.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Replaces a file so that readers see either the old or the complete new content: write a temporary
 * file beside it, fsync, rename over the target, fsync the directory.
 */
final class AtomicFiles {
  /** Produces the content of the new file. */
  @FunctionalInterface
  interface Body {
    void writeTo(FileChannel out) throws IOException;
  }

  private AtomicFiles() {}

  /**
   * Writes {@code target} atomically.
   *
   * @throws UncheckedIOException if writing, syncing or renaming fails; the temporary file is removed
   */
  static void write(Path target, Body body) {
    Path abs = target.toAbsolutePath();
    Path dir = abs.getParent();
    // Same directory, so the rename cannot cross file systems; a dot name, so globs for real files skip it.
    // Not Files.createTempFile: that creates mode 0600, and a checkpoint must be readable like any file.
    Path tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong())
        + ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        body.writeTo(ch);
        ch.force(true);
      }
      Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      syncDirectory(dir);
    } catch (IOException e) {
      deleteQuietly(tmp, e);
      throw new UncheckedIOException("cannot write " + abs + ": " + e, e);
    } catch (RuntimeException | Error e) {
      deleteQuietly(tmp, e);
      throw e;
    }
  }

  /** Writes all of {@code src}; a channel may accept fewer bytes than offered per call. */
  static void writeFully(WritableByteChannel out, ByteBuffer src) throws IOException {
    while (src.hasRemaining()) {
      out.write(src);
    }
  }

  /** Makes the rename durable on POSIX systems. */
  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some platforms cannot open or sync a directory; the rename is still atomic, only its durability is weaker.
    }
  }

  private static void deleteQuietly(Path tmp, Throwable primary) {
    try {
      Files.deleteIfExists(tmp);
    } catch (IOException e) {
      primary.addSuppressed(e);
    }
  }
}
