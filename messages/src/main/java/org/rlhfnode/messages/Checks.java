package org.rlhfnode.messages;

/** Argument checks for the compact constructors; every error names the record and the field. */
final class Checks {
  private Checks() {}

  static String nonBlank(String value, String owner, String field) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(owner + "." + field + " must be non-blank");
    }
    return value;
  }

  static <T> T notNull(T value, String owner, String field) {
    if (value == null) {
      throw new IllegalArgumentException(owner + "." + field + " must not be null");
    }
    return value;
  }

  static long nonNegative(long value, String owner, String field) {
    if (value < 0) {
      throw new IllegalArgumentException(owner + "." + field + " must be >= 0, got " + value);
    }
    return value;
  }

  static long positive(long value, String owner, String field) {
    if (value <= 0) {
      throw new IllegalArgumentException(owner + "." + field + " must be > 0, got " + value);
    }
    return value;
  }

  /** 64 lower-case hex digits (a SHA-256 digest, a 256-bit secret); the message never repeats a secret's value. */
  static String hex256(String value, String owner, String field, boolean secret) {
    if (value == null || value.length() != 64 || !value.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw new IllegalArgumentException(owner + "." + field + " must be 64 lower-case hex digits"
          + (secret ? "" : ", got '" + value + "'"));
    }
    return value;
  }

  /** A rendezvous secret: 256 random bits as 64 lower-case hex digits. */
  static String rendezvousSecret(String value, String owner) {
    return hex256(value, owner, "storeSecret", true);
  }
}
