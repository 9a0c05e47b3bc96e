package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Grouped-query self-attention with RoPE through libtorch's fused
 * {@code scaled_dot_product_attention} ({@code enable_gqa}: query head h reads KV head
 * h / (heads / kvHeads)). The boolean mask carries causality, padding and the sliding window.
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
   * @param x [B, T, d] normalised hidden states of the new tokens
   * @param cos [B, 1, T, hd] and {@code sin}: rotary angles of the new tokens
   * @param mask [B, 1, T, S] true where a query may attend a key (S = cached + new)
   * @param cache this layer's KV cache, or null to attend only within {@code x}
   * @return [B, T, d]
   */
  public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache.Layer cache) {
    long b = x.size(0);
    long t = x.size(1);
    Tensor queries = heads(q.forward(x), b, t, numHeads); // [B, H, T, hd]
    Tensor keys = heads(k.forward(x), b, t, numKvHeads); // [B, KV, T, hd]
    Tensor values = heads(v.forward(x), b, t, numKvHeads);
    queries = Rope.apply(queries, cos, sin);
    keys = Rope.apply(keys, cos, sin);
    if (cache != null) {
      Tensor[] kv = cache.append(keys, values); // [B, KV, S, hd]
      keys = kv[0];
      values = kv[1];
    }
    Tensor attended = torch.scaled_dot_product_attention(queries, keys, values,
        new TensorOptional(mask), 0.0, false, new DoubleOptional(), numKvHeads != numHeads);
    return o.forward(attended.transpose(1, 2).reshape(b, t, (long) numHeads * headDim));
  }

  private Tensor heads(Tensor projected, long b, long t, int n) {
    return projected.view(b, t, n, headDim).transpose(1, 2);
  }
}
