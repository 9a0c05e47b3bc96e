package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Tensor;

/** Pre-norm transformer block: {@code h += attn(norm(h)); h += ffn(norm(h))}. */
public record DecoderLayer(RmsNorm inputNorm, Attention attention, RmsNorm postAttentionNorm, FeedForward ffn) {

  /** See {@link Attention#forward} for the shapes. */
  public Tensor forward(Tensor h, Tensor cos, Tensor sin, TokenLayout layout, KvCache.Layer cache) {
    Tensor attended = attention.forward(inputNorm.forward(h), cos, sin, layout, cache);
    Tensor residual = h.add(attended);
    return residual.add(ffn.forward(postAttentionNorm.forward(residual)));
  }
}
