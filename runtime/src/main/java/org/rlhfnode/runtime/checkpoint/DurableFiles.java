package org.rlhfnode.runtime.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * File-system steps a crash-safe checkpoint is built from: fsync of files and directories, SHA-256
 * of a file, listing and deleting trees. Same idea as {@code io.AtomicFiles}, which is package-private
 * there.
 */
final class DurableFiles {
  private static final int DIGEST_BUFFER = 1 << 20;

  private DurableFiles() {}

  /** Writes a new file (it must not exist) and fsyncs it. */
  static void writeNew(Path file, byte[] content) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.wrap(content);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
  }

  /** Flushes a regular file's data and metadata to the device. */
  static void fsyncFile(Path file) throws IOException {
    // Linux accepts fsync on a read-only descriptor; opening for write could fail on a read-only copy.
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** Makes renames and creations inside {@code dir} durable on POSIX systems; a no-op where unsupported. */
  static void fsyncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some platforms cannot open or sync a directory; the rename stays atomic, only its durability is weaker.
    }
  }

  /** Lower-case hex SHA-256 of the file's bytes. */
  static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
    byte[] buf = new byte[DIGEST_BUFFER];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
        digest.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /** Every regular file under {@code dir}, as paths relative to it, sorted. */
  static List<Path> regularFiles(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(Files::isRegularFile).map(dir::relativize).sorted().collect(Collectors.toList());
    }
  }

  /** Every directory under {@code dir}, deepest first, {@code dir} itself last. */
  static List<Path> directories(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(Files::isDirectory).sorted(Comparator.comparingInt(Path::getNameCount).reversed())
          .collect(Collectors.toList());
    }
  }

  /** Deletes {@code dir} and everything in it; a missing directory is fine. */
  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir + ": " + e, e);
    }
  }
}
