package org.rlhfnode.node.actor;

import java.util.concurrent.CompletionException;
import org.slf4j.Logger;

/** Errors as the one line a role reports to the supervisor (libtorch messages start with a newline). */
public final class RoleErrors {
  private RoleErrors() {}

  /** {@code t} without the {@link CompletionException}s that futures wrap it in. */
  public static Throwable root(Throwable t) {
    Throwable e = t;
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  /** The first non-blank line of the root message, prefixed by the exception's simple name when it has none. */
  public static String oneLine(Throwable t) {
    Throwable e = root(t);
    String msg = e.getMessage();
    if (msg != null) {
      for (String line : msg.split("\n")) {
        if (!line.isBlank()) {
          return line.trim();
        }
      }
    }
    return e.getClass().getSimpleName();
  }

  /** Logs a failure as one WARN line, with the stack trace at DEBUG only (users read logs, not traces). */
  public static void warn(Logger log, String what, Throwable t) {
    log.warn("{}: {}", what, oneLine(t));
    log.debug(what, t);
  }
}
