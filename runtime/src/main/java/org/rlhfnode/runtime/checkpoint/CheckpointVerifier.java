package org.rlhfnode.runtime.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.rlhfnode.runtime.io.CheckpointFormatException;

/**
 * Checks a checkpoint directory written by {@link CheckpointManager} against its
 * {@code manifest.json}: every listed file present with the recorded size and SHA-256, the training
 * state and the tensors listed (both {@code model/} and {@code optimizer/}, or a ZeRO checkpoint's
 * {@code zero/layout.json}), and no unlisted file inside the tensor directories (one could change what
 * is loaded). Other listed files (say an {@code hf/} copy of the weights in a {@link RunCheckpoints}
 * part) are checked like the rest. Verification reads every byte once; {@link #checkSize} is the cheap
 * check of one file that is read without hashing.
 */
public final class CheckpointVerifier {
  private CheckpointVerifier() {}

  /**
   * Verifies the checkpoint in {@code dir}.
   *
   * @return the manifest
   * @throws CheckpointFormatException one line naming the first file at fault and what is wrong
   */
  public static CheckpointManifest verify(Path dir) {
    CheckpointManifest manifest = readManifest(dir);
    checkListed(dir.resolve(CheckpointManifest.FILE_NAME), manifest);
    verifyFiles(dir, manifest);
    try {
      checkNoUnlisted(dir, manifest);
    } catch (IOException e) {
      throw new UncheckedIOException(dir + ": cannot verify checkpoint: " + e, e);
    }
    return manifest;
  }

  /** Reads {@code dir/manifest.json}, which must exist; errors name the directory or the file. */
  static CheckpointManifest readManifest(Path dir) {
    Path manifestFile = dir.resolve(CheckpointManifest.FILE_NAME);
    if (!Files.isRegularFile(manifestFile)) {
      throw new CheckpointFormatException(dir, "no " + CheckpointManifest.FILE_NAME + " (the save did not complete)");
    }
    return CheckpointManifest.read(manifestFile);
  }

  /**
   * Checks that every file {@code manifest} lists is present in {@code dir} with the recorded size and SHA-256.
   *
   * @throws CheckpointFormatException naming the first file at fault
   */
  static void verifyFiles(Path dir, CheckpointManifest manifest) {
    try {
      for (CheckpointManifest.FileEntry f : manifest.files()) {
        verifyFile(dir, f);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(dir + ": cannot verify checkpoint: " + e, e);
    }
  }

  /**
   * Checks that file {@code rel} of {@code dir} is listed in {@code manifest} with the size it has now.
   *
   * @throws CheckpointFormatException naming the file
   */
  static void checkSize(Path dir, CheckpointManifest manifest, String rel) {
    Path file = dir.resolve(rel);
    CheckpointManifest.FileEntry f = listed(file, manifest, rel);
    try {
      requireSize(file, f);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read: " + e, e);
    }
  }

  /**
   * Checks one (small) file of {@code dir}: listed in {@code manifest}, with the recorded size and SHA-256.
   *
   * @throws CheckpointFormatException naming the file
   */
  static void verifyListed(Path dir, CheckpointManifest manifest, String rel) {
    try {
      verifyFile(dir, listed(dir.resolve(rel), manifest, rel));
    } catch (IOException e) {
      throw new UncheckedIOException(dir.resolve(rel) + ": cannot verify: " + e, e);
    }
  }

  private static CheckpointManifest.FileEntry listed(Path file, CheckpointManifest manifest, String rel) {
    CheckpointManifest.FileEntry f = manifest.file(rel);
    if (f == null) {
      throw new CheckpointFormatException(file, "not listed in " + CheckpointManifest.FILE_NAME);
    }
    return f;
  }

  private static void checkListed(Path manifestFile, CheckpointManifest manifest) {
    if (manifest.file(CheckpointManager.STATE_FILE) == null) {
      throw new CheckpointFormatException(manifestFile, "does not list " + CheckpointManager.STATE_FILE);
    }
    if (manifest.file(ZeroLayout.DIR + "/" + ZeroLayout.FILE_NAME) != null) {
      return; // a ZeRO checkpoint: ZeroTensors checks its rank files against the layout
    }
    for (String sub : List.of(CheckpointManager.MODEL_DIR, CheckpointManager.OPTIMIZER_DIR)) {
      if (manifest.files().stream().noneMatch(f -> f.path().startsWith(sub + "/"))) {
        throw new CheckpointFormatException(manifestFile, "lists no file under " + sub + "/");
      }
    }
  }

  /** {@code file} exists with the size {@code f} records. */
  private static void requireSize(Path file, CheckpointManifest.FileEntry f) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new CheckpointFormatException(file, "listed in " + CheckpointManifest.FILE_NAME + " but missing");
    }
    long size = Files.size(file);
    if (size != f.size()) {
      throw new CheckpointFormatException(file, "size " + size + " bytes, " + CheckpointManifest.FILE_NAME
          + " says " + f.size());
    }
  }

  private static void verifyFile(Path dir, CheckpointManifest.FileEntry f) throws IOException {
    Path file = dir.resolve(f.path());
    requireSize(file, f);
    String sha = DurableFiles.sha256(file);
    if (!sha.equals(f.sha256())) {
      throw new CheckpointFormatException(file, "SHA-256 mismatch: " + CheckpointManifest.FILE_NAME + " says "
          + f.sha256() + ", the file has " + sha);
    }
  }

  /** An unlisted file in a tensor directory could change what is loaded, so it is an error. */
  private static void checkNoUnlisted(Path dir, CheckpointManifest manifest) throws IOException {
    for (String sub : List.of(CheckpointManager.MODEL_DIR, CheckpointManager.OPTIMIZER_DIR, ZeroLayout.DIR)) {
      Path subDir = dir.resolve(sub);
      if (!Files.isDirectory(subDir)) {
        continue;
      }
      for (Path rel : DurableFiles.regularFiles(subDir)) {
        String path = sub + "/" + CheckpointManager.slashed(rel);
        if (manifest.file(path) == null) {
          throw new CheckpointFormatException(subDir.resolve(rel), "not listed in " + CheckpointManifest.FILE_NAME);
        }
      }
    }
  }
}
