package org.rlhfnode.runtime.io;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A safetensors file or HuggingFace checkpoint directory that is malformed or inconsistent.
 *
 * <p>The message is a single line, {@code "<file>: <what is wrong>"}, naming the tensor or key at
 * fault where there is one, so it can be shown to a user as is. Parser errors from Jackson are
 * kept as the cause, never as the message.
 */
public final class CheckpointFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;

  /** A problem in {@code file} (a safetensors file, an index file or a model directory). */
  public CheckpointFormatException(Path file, String detail) {
    this(file, detail, null);
  }

  /** A problem in {@code file} discovered through {@code cause} (an I/O or JSON parser error). */
  public CheckpointFormatException(Path file, String detail, Throwable cause) {
    super(oneLine(Objects.requireNonNull(file, "file") + ": " + detail), cause);
    this.file = file;
  }

  /** The file or directory the problem is in. */
  public Path file() {
    return file;
  }

  // Crafted headers can put line breaks into names and Jackson messages span lines; a log line must stay one line.
  private static String oneLine(String s) {
    return s.replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
  }
}
