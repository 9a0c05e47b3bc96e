package org.rlhfnode.runtime.train;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * What happens to the gradients once a rank's backward passes of one optimizer step are done:
 * combine them over the data-parallel ranks, clip to the global norm, update the weights, clear the
 * gradients; and how the weights and optimizer state go to and come from a checkpoint. One rank:
 * {@link LocalUpdate}; N ranks at ZeRO stage 0–3: {@code runtime.parallel.ShardedUpdate}.
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

  @Override
  void close();
}
