package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Tensor;

/**
 * How {@link CausalLm#hidden} runs its decoder layers when the plain way (each layer's forward,
 * activations kept for autograd) is not wanted: gradient checkpointing recomputes each layer in
 * backward, ZeRO-3 gathers a layer's sharded weights just before it runs. Installed with
 * {@link CausalLm#setLayerRunner}.
 */
public interface LayerRunner {
  /** Called as {@link CausalLm#hidden} begins, before the embedding is read. */
  void beforeForward();

  /**
   * Runs layer {@code index}; see {@link DecoderLayer#forward} for the shapes.
   *
   * @return the layer's output, [B, T, d] (or [1, N, d] in a packed layout)
   */
  Tensor layer(int index, DecoderLayer layer, Tensor h, Tensor cos, Tensor sin, TokenLayout layout,
      KvCache.Layer cache);
}
