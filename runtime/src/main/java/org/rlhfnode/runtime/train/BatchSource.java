package org.rlhfnode.runtime.train;

import java.util.List;
import java.util.Map;

/**
 * Where a {@link Trainer} gets its data: the micro-batches of the next optimizer step, in a
 * deterministic order whose position can be saved in a checkpoint and restored.
 */
public interface BatchSource<B> {
  /** The micro-batches of the next optimizer step (accumulated before one update). */
  List<B> nextStep();

  /** Optimizer steps in one pass over the data. */
  long stepsPerEpoch();

  /** The position in the data, JSON-friendly (numbers and strings). */
  Map<String, Object> cursor();

  /** Moves to a position saved by {@link #cursor()}. */
  void restore(Map<String, Object> cursor);
}
