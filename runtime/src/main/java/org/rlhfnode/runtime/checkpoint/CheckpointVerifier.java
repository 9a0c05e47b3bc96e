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
 * state and both tensor directories listed, and no unlisted file inside the tensor directories (one
 * could change what is loaded). Other listed files (say an {@code hf/} copy of the weights in a
 * {@link RunCheckpoints} part) are checked like the rest. Verification reads every byte once.
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

  private static void checkListed(Path manifestFile, CheckpointManifest manifest) {
    if (manifest.file(CheckpointManager.STATE_FILE) == null) {
      throw new CheckpointFormatException(manifestFile, "does not list " + CheckpointManager.STATE_FILE);
    }
    for (String sub : List.of(CheckpointManager.MODEL_DIR, CheckpointManager.OPTIMIZER_DIR)) {
      if (manifest.files().stream().noneMatch(f -> f.path().startsWith(sub + "/"))) {
        throw new CheckpointFormatException(manifestFile, "lists no file under " + sub + "/");
      }
    }
  }

  private static void verifyFile(Path dir, CheckpointManifest.FileEntry f) throws IOException {
    Path file = dir.resolve(f.path());
    if (!Files.isRegularFile(file)) {
      throw new CheckpointFormatException(file, "listed in " + CheckpointManifest.FILE_NAME + " but missing");
    }
    long size = Files.size(file);
    if (size != f.size()) {
      throw new CheckpointFormatException(file, "size " + size + " bytes, " + CheckpointManifest.FILE_NAME
          + " says " + f.size());
    }
    String sha = DurableFiles.sha256(file);
    if (!sha.equals(f.sha256())) {
      throw new CheckpointFormatException(file, "SHA-256 mismatch: " + CheckpointManifest.FILE_NAME + " says "
          + f.sha256() + ", the file has " + sha);
    }
  }

  /** An unlisted file in a tensor directory could change what is loaded, so it is an error. */
  private static void checkNoUnlisted(Path dir, CheckpointManifest manifest) throws IOException {
    for (String sub : List.of(CheckpointManager.MODEL_DIR, CheckpointManager.OPTIMIZER_DIR)) {
      Path subDir = dir.resolve(sub);
      for (Path rel : DurableFiles.regularFiles(subDir)) {
        String path = sub + "/" + CheckpointManager.slashed(rel);
        if (manifest.file(path) == null) {
          throw new CheckpointFormatException(subDir.resolve(rel), "not listed in " + CheckpointManifest.FILE_NAME);
        }
      }
    }
  }
}
