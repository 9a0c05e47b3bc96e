package org.rlhfnode.messages;

/**
 * Role → supervisor: {@code role} could not restore, for {@code reason} (one line naming the file at
 * fault where there is one). The role's state is undefined until its next successful restore.
 */
public record RestoreFailed(RequestId requestId, Role role, String reason, Cause cause) implements RestoreReply {

  /** Why, which decides what the supervisor does next. */
  public enum Cause {
    /**
     * The checkpoint part is damaged or cannot be read (a file missing, truncated, failing its checksum, or
     * an I/O error reading it): try an older one.
     */
    CORRUPT,
    /** The part is intact but not of this model (other tensor names or shapes): stop, the settings are wrong. */
    FOREIGN,
    /** Anything else (out of memory, a failed model load): stop. */
    ERROR
  }

  /** Checks the fields. */
  public RestoreFailed {
    Checks.notNull(requestId, "RestoreFailed", "requestId");
    Checks.notNull(role, "RestoreFailed", "role");
    Checks.nonBlank(reason, "RestoreFailed", "reason");
    Checks.notNull(cause, "RestoreFailed", "cause");
  }
}
