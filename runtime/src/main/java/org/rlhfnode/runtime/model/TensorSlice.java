package org.rlhfnode.runtime.model;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The part of one checkpoint tensor a tensor-parallel rank holds: indices [start, start + length) of
 * dimension {@code dim}, zero-padded to {@code padded} (only the vocabulary's last rows are padded,
 * so every rank's logits have the same width). A row slice (dim 0) of a row-major tensor is one
 * contiguous byte range in the file; a column slice (dim 1) of an [out, in] matrix is one range per row.
 *
 * @param dim 0: output rows (column-parallel q/k/v, gate/up, vocabulary); 1: input columns (row-parallel o/down)
 */
public record TensorSlice(int dim, long start, long length, long padded) {

  public TensorSlice {
    if (dim < 0 || dim > 1 || start < 0 || length < 0 || padded < length) {
      throw new IllegalArgumentException("bad slice: dim " + dim + " [" + start + ", +" + length + ") padded to "
          + padded);
    }
  }

  /** {@code full} with dimension {@link #dim} replaced by {@link #padded}. */
  public long[] localShape(long[] full) {
    long[] s = full.clone();
    s[dim] = padded;
    return s;
  }

  /**
   * How rank {@code tp.rank()} slices each of the tensors {@code names} (HF names); tensors absent
   * from the answer (norms, routers, {@code o_proj.bias}, the score head) are replicated.
   *
   * @throws ConfigException if the config does not split {@code tp.size()} ways
   */
  public static Map<String, TensorSlice> plan(ModelConfig c, TensorParallel tp, Iterable<String> names) {
    tp.check(c);
    long hd = c.headDim();
    TensorSlice heads = rows(tp.rank() * (long) tp.localHeads(c) * hd, tp.localHeads(c) * hd);
    TensorSlice kvHeads = rows(tp.firstKvHead(c) * hd, tp.localKvHeads(c) * hd);
    long f = tp.localIntermediate(c);
    long shard = tp.vocabShard(c);
    long vocabStart = tp.vocabStart(c);
    TensorSlice vocab = new TensorSlice(0, Math.min(vocabStart, c.vocabSize()),
        Math.max(0, Math.min(shard, c.vocabSize() - vocabStart)), shard);
    Map<String, TensorSlice> plan = new LinkedHashMap<>();
    for (String name : names) {
      TensorSlice s = null;
      if (name.equals(ParameterLayout.EMBED) || name.equals(ParameterLayout.LM_HEAD)) {
        s = vocab;
      } else if (name.contains("self_attn.q_proj.")) {
        s = heads;
      } else if (name.contains("self_attn.k_proj.") || name.contains("self_attn.v_proj.")) {
        s = kvHeads;
      } else if (name.endsWith("self_attn.o_proj.weight")) {
        s = new TensorSlice(1, heads.start, heads.length, heads.length);
      } else if (name.endsWith("mlp.gate_proj.weight") || name.endsWith("mlp.up_proj.weight")
          || name.endsWith(".w1.weight") || name.endsWith(".w3.weight")) {
        s = rows(tp.rank() * f, f);
      } else if (name.endsWith("mlp.down_proj.weight") || name.endsWith(".w2.weight")) {
        s = new TensorSlice(1, tp.rank() * f, f, f);
      }
      if (s != null) {
        plan.put(name, s);
      }
    }
    return plan;
  }

  /**
   * The shapes rank {@code tp.rank()} holds: {@code full} (HF names to shapes) with each sliced
   * tensor's dimension narrowed, in the same order.
   */
  public static Map<String, long[]> localShapes(ModelConfig c, TensorParallel tp, Map<String, long[]> full) {
    Map<String, TensorSlice> plan = plan(c, tp, full.keySet());
    Map<String, long[]> out = new LinkedHashMap<>();
    full.forEach((name, shape) -> {
      TensorSlice s = plan.get(name);
      out.put(name, s == null ? shape : s.localShape(shape));
    });
    return out;
  }

  private static TensorSlice rows(long start, long length) {
    return new TensorSlice(0, start, length, length);
  }
}
