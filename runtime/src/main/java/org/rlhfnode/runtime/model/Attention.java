package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Grouped-query self-attention with RoPE through libtorch's fused
 * {@code scaled_dot_product_attention} ({@code enable_gqa}: query head h reads KV head
 * h / (heads / kvHeads)). The boolean mask carries causality, padding and the sliding window; a packed
 * layout's tokens attend in the padded layout, so each sequence sees only itself.
 */
public final class Attention {
  private final Linear q;
  private final Linear k;
  private final Linear v;
  private final Linear o;
  private final int numHeads;
  private final int numKvHeads;
  private final int headDim;

  public Attention(Linear q, Linear k, Linear v, Linear o, ModelConfig config) {
    this(q, k, v, o, config.numHeads(), config.numKvHeads(), config.headDim());
  }

  /**
   * Attention over {@code numHeads} query and {@code numKvHeads} KV heads: all of a model's, or one
   * tensor-parallel rank's (q/k/v column-parallel, {@code o} row-parallel, so the output is whole).
   */
  Attention(Linear q, Linear k, Linear v, Linear o, int numHeads, int numKvHeads, int headDim) {
    this.q = q;
    this.k = k;
    this.v = v;
    this.o = o;
    this.numHeads = numHeads;
    this.numKvHeads = numKvHeads;
    this.headDim = headDim;
  }

  /**
   * @param x [B, T, d] normalised hidden states of the new tokens ([1, N, d] in a packed layout)
   * @param cos [B, 1, T, hd] and {@code sin}: rotary angles of the new tokens
   * @param layout the mask [B, 1, T, S], true where a query may attend a key (S = cached + new), and
   *     where packed tokens sit in the padded layout
   * @param cache this layer's KV cache, or null to attend only within {@code x}
   * @return [B, T, d] ([1, N, d] packed)
   */
  public Tensor forward(Tensor x, Tensor cos, Tensor sin, TokenLayout layout, KvCache.Layer cache) {
    long b = cos.size(0);
    long t = cos.size(2);
    Tensor queries = heads(layout.pad(q.forward(x), b, t), b, t, numHeads); // [B, H, T, hd]
    Tensor keys = heads(layout.pad(k.forward(x), b, t), b, t, numKvHeads); // [B, KV, T, hd]
    Tensor values = heads(layout.pad(v.forward(x), b, t), b, t, numKvHeads);
    queries = Rope.apply(queries, cos, sin);
    keys = Rope.apply(keys, cos, sin);
    if (cache != null) {
      Tensor[] kv = cache.append(keys, values); // [B, KV, S, hd]
      keys = kv[0];
      values = kv[1];
    }
    Tensor attended = torch.scaled_dot_product_attention(queries, keys, values,
        new TensorOptional(layout.mask()), 0.0, false, new DoubleOptional(), numKvHeads != numHeads);
    return o.forward(layout.unpad(attended.transpose(1, 2).reshape(b, t, (long) numHeads * headDim)));
  }

  private Tensor heads(Tensor projected, long b, long t, int n) {
    return projected.view(b, t, n, headDim).transpose(1, 2);
  }
}
