package org.rlhfnode.runtime.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared test fixtures (surefire passes their root as the {@code rlhf.fixtures} property). */
final class Fixtures {
  private Fixtures() {}

  static Path qwen3() {
    String root = System.getProperty("rlhf.fixtures");
    if (root == null) {
      throw new IllegalStateException("system property rlhf.fixtures is not set; run the tests through Maven");
    }
    Path dir = Path.of(root, "tokenizers", "qwen3");
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("fixture directory " + dir + " is missing");
    }
    return dir;
  }
}
