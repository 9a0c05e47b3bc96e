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
}
