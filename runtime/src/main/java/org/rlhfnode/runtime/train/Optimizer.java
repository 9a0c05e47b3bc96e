package org.rlhfnode.runtime.train;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * An optimizer over named parameters (HF names, as {@code CausalLm.parameters()} holds them) whose
 * whole state can be exported to, and restored from, a flat map of tensors, so that a checkpoint
 * can store it as safetensors. The learning rate is passed to every step, from an {@link LrSchedule}.
 */
public sealed interface Optimizer extends AutoCloseable permits AdamW {
  /** Updates, in place, every parameter that has a gradient, at learning rate {@code lr}. */
  void step(double lr);

  /** Drops every parameter's gradient (PyTorch's {@code zero_grad(set_to_none=True)}). */
  void zeroGrad();

  /**
   * A snapshot of the state: CPU, contiguous copies keyed by parameter name plus a suffix, in the
   * caller's {@code PointerScope}. Parameters that were never updated have no entries.
   */
  Map<String, Tensor> exportState();

  /**
   * Replaces the state with an exported one; checks every entry before changing anything.
   *
   * @throws IllegalArgumentException naming the first unknown, incomplete or mis-shaped entry
   */
  void restoreState(Map<String, Tensor> state);

  /** Releases the state tensors and the references held on the parameters. */
  @Override
  void close();
}
