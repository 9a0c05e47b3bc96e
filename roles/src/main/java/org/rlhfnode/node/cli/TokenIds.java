package org.rlhfnode.node.cli;

/** Parses {@code --input-ids 1,5,9}. */
final class TokenIds {
  private TokenIds() {}

  static long[] parse(String csv) {
    String[] parts = csv.split(",");
    long[] ids = new long[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        ids[i] = Long.parseLong(parts[i].trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--input-ids: '" + parts[i].trim() + "' (item " + i
            + ") is not an integer token id");
      }
    }
    return ids;
  }
}
