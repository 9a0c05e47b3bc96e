package org.rlhfnode.messages;

/**
 * Correlates a request with its answers: the run lineage it belongs to (a new lineage starts whenever
 * the run is restored from a checkpoint, so an answer from before a rollback is told apart from one
 * after it), the iteration (0-based; an evaluation carries the number of iterations it follows), what is
 * asked, and which part (a rollout chunk; 0 otherwise). Ids are compared whole, never parsed; the
 * {@link #toString()} form ({@code it3-gen-0}) is for logs only.
 *
 * @param lineage restores since the run started, ≥ 0
 * @param iteration iteration index, ≥ 0
 * @param kind what the request asks for
 * @param part chunk index for {@link Kind#GENERATE}, else 0
 */
public record RequestId(long lineage, int iteration, Kind kind, int part) {

  /** What a request asks for. */
  public enum Kind {
    /** A chunk of an iteration's rollout. */
    GENERATE("gen"),
    /** lp_old, lp_ref, V_old or scores of an iteration's rows. */
    SCORE("score"),
    /** An iteration's experience batch. */
    BATCH(""),
    /** An iteration's train step. */
    TRAIN("train"),
    /** A weight sync to the rollout engines. */
    SYNC("sync"),
    /** A checkpoint part. */
    CHECKPOINT("ckpt"),
    /** Restoring a role's state (from a checkpoint or the initial weights). */
    RESTORE("restore"),
    /** The greedy rollout of a held-out evaluation. */
    EVAL_GENERATE("eval-gen"),
    /** The reward of a held-out evaluation. */
    EVAL_SCORE("eval-score");

    private final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  /** Checks the fields. */
  public RequestId {
    Checks.nonNegative(lineage, "RequestId", "lineage");
    Checks.nonNegative(iteration, "RequestId", "iteration");
    Checks.notNull(kind, "RequestId", "kind");
    Checks.nonNegative(part, "RequestId", "part");
  }

  /** Id {@code kind} of iteration {@code iteration} in lineage {@code lineage}, part 0. */
  public static RequestId of(long lineage, int iteration, Kind kind) {
    return new RequestId(lineage, iteration, kind, 0);
  }

  @Override
  public String toString() {
    String base = "it" + iteration + (kind.label.isEmpty() ? "" : "-" + kind.label)
        + (kind == Kind.GENERATE ? "-" + part : "");
    return lineage == 0 ? base : "L" + lineage + "/" + base;
  }
}
