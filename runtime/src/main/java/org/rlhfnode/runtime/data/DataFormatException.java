package org.rlhfnode.runtime.data;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A dataset file, or one record in it, that cannot be used for training. The message is one line,
 * {@code "<file>:<line>: <what is wrong>"} (or {@code "<file>: <what is wrong>"} for a problem with
 * the file as a whole), so it can be shown to a user as is. Loading stops at the first such problem:
 * a malformed record is never skipped silently.
 */
public final class DataFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final int line;

  /** A problem in {@code file} at 1-based {@code line}; {@code line <= 0} means the file as a whole. */
  public DataFormatException(Path file, int line, String detail) {
    this(file, line, detail, null);
  }

  /** As {@link #DataFormatException(Path, int, String)}, keeping {@code cause} (a parser error). */
  public DataFormatException(Path file, int line, String detail, Throwable cause) {
    super(oneLine(location(Objects.requireNonNull(file, "file"), line) + ": " + detail), cause);
    this.file = file;
    this.line = Math.max(0, line);
  }

  /** {@code file:line}, or just {@code file} when the line is unknown. */
  static String location(Path file, int line) {
    return line > 0 ? file + ":" + line : file.toString();
  }

  /** The file the problem is in. */
  public Path file() {
    return file;
  }

  /** The 1-based line of the record at fault, or 0 for the file as a whole. */
  public int line() {
    return line;
  }

  private static String oneLine(String s) {
    return s.replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
  }
}
