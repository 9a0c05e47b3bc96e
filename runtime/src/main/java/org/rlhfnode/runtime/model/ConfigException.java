package org.rlhfnode.runtime.model;

/**
 * A {@code config.json} that rlhf-node cannot run: a missing or wrong-typed key, or a value outside
 * what is implemented. The message names the key so a user can fix the file.
 */
public final class ConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private final String key;

  public ConfigException(String key, String message) {
    super(message);
    this.key = key;
  }

  /** The offending {@code config.json} key. */
  public String key() {
    return key;
  }
}
