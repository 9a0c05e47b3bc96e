package org.rlhfnode.runtime.generate;

/** Why a sequence ended: a stop/EOS token ({@code STOP}) or {@code max_new_tokens} ({@code LENGTH}). */
public enum FinishReason {
  STOP("stop"),
  LENGTH("length");

  private final String jsonName;

  FinishReason(String jsonName) {
    this.jsonName = jsonName;
  }

  /** The lower-case name used in JSON output. */
  public String jsonName() {
    return jsonName;
  }
}
