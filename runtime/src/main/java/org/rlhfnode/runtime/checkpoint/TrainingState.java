package org.rlhfnode.runtime.checkpoint;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * The non-tensor state a resumed run needs to continue exactly where it stopped: how many optimizer
 * steps and epochs have been completed, where the data loader is, the random-number state, the LR
 * scheduler's position and free-form scalar metadata (say the consumed sample count or the best eval
 * loss so far). Saved as {@code training_state.json} inside a checkpoint.
 *
 * <p>The data cursor is opaque to the checkpoint code: any JSON-able map (strings, numbers,
 * booleans, nulls, lists and maps) the data pipeline wants back. Maps are copied into a canonical
 * form (integers as {@link Long}, other numbers as {@link Double}), so a state read back from disk
 * {@link #equals} the one saved.
 *
 * @param step optimizer steps completed (the {@code global_step} of the checkpoint tag)
 * @param epoch epochs completed, or the current epoch index; as the trainer defines it
 * @param dataCursor the data loader's position; JSON-able
 * @param rng random-number state
 * @param schedulerStep the LR schedule's step (see {@code LrSchedule#lr(long)}); usually {@code step}
 * @param metadata scalar extras: strings, numbers, booleans or nulls
 */
public record TrainingState(long step, long epoch, Map<String, Object> dataCursor, RngState rng, long schedulerStep,
    Map<String, Object> metadata) {
  public TrainingState {
    if (step < 0) {
      throw new IllegalArgumentException("step must be ≥ 0, got " + step);
    }
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch must be ≥ 0, got " + epoch);
    }
    if (schedulerStep < 0) {
      throw new IllegalArgumentException("schedulerStep must be ≥ 0, got " + schedulerStep);
    }
    Objects.requireNonNull(rng, "rng");
    dataCursor = JsonValues.map(dataCursor, "dataCursor");
    metadata = JsonValues.scalarMap(metadata, "metadata");
  }

  /** A state at {@code step} whose scheduler step equals the optimizer step and with no metadata. */
  public static TrainingState at(long step, long epoch, Map<String, ?> dataCursor, RngState rng) {
    return new TrainingState(step, epoch, JsonValues.map(dataCursor, "dataCursor"), rng, step, Map.of());
  }

  /** This state as the JSON of {@code training_state.json}, for state files outside a trainer checkpoint. */
  public byte[] toJson() {
    return StateJson.toBytes(this);
  }

  /**
   * Reads a state file written from {@link #toJson}.
   *
   * @throws org.rlhfnode.runtime.io.CheckpointFormatException naming the file and the missing or malformed field
   */
  public static TrainingState readJson(Path file) {
    return StateJson.read(file);
  }
}
