package org.rlhfnode.runtime.train;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.checkpoint.SavedTensors;
import org.rlhfnode.runtime.checkpoint.StateShare;

/**
 * What happens to the gradients once a rank's backward passes of one optimizer step are done:
 * combine them over the data-parallel ranks, clip to the global norm, update the weights, clear the
 * gradients; and how the weights and optimizer state go to and come from a checkpoint. One rank or
 * ZeRO stage 0: {@link LocalUpdate}; ZeRO stages 1–3: {@code runtime.parallel.ShardedUpdate}.
 *
 * <p>A checkpoint takes {@link #checkpointShare()}: the whole tensors (consolidated) or, for ZeRO over
 * N &gt; 1 ranks, each rank's own pieces; {@link #restore(SavedTensors)} reads either layout, written on
 * any rank count at any stage, and each rank reads only what it keeps.
 *
 * <p>On N ranks every method is collective: each rank calls it, in the same order.
 */
public interface ParameterUpdate extends AutoCloseable {
  /** The global gradient norm before clipping, and whether the step was skipped (non-finite norm). */
  record Outcome(double gradNorm, boolean skipped) {}

  /** Combines, clips and applies the gradients at learning rate {@code lr}; clears them. */
  Outcome apply(long step, double lr);

  /**
   * The full trained tensors as a checkpoint stores them (fp32 masters with bf16 compute), by name,
   * in the caller's {@code PointerScope}; equal on every rank.
   */
  Map<String, Tensor> checkpointWeights();

  /** The full optimizer state in {@link AdamW}'s single-rank naming and shapes (so any rank count can load it). */
  Map<String, Tensor> exportState();

  /** Installs a checkpoint's weights ({@link #checkpointWeights} names) and optimizer state. */
  void restore(Map<String, Tensor> weights, Map<String, Tensor> optimizerState);

  /**
   * What this rank writes into a checkpoint: {@link StateShare.Whole} (equal on every rank; rank 0 writes
   * it) or, for ZeRO over N &gt; 1 ranks, this rank's {@link StateShare.Pieces}, gathering nothing.
   */
  StateShare checkpointShare();

  /**
   * Installs the weights and optimizer state of a checkpoint in either layout, reading only the ranges
   * this rank keeps.
   *
   * @throws IllegalArgumentException the checkpoint holds other tensors or shapes (names {@code saved.source()})
   * @throws org.rlhfnode.runtime.io.CheckpointFormatException a file of the checkpoint is malformed (names it)
   */
  void restore(SavedTensors saved);

  @Override
  void close();
}
