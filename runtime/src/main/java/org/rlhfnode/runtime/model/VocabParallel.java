package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The vocabulary-parallel ends of a tensor-parallel model. Rank r holds rows [start, start + n) of the
 * embedding (and of {@code lm_head}, or the same rows of a tied embedding), n = ⌈V/N⌉, the rows past
 * V zero. Embedding: each rank looks up the ids it holds, the others give zeros, an all-reduce sums
 * the ranks (exactly one term is non-zero). Logits: each rank computes its n columns, an all-gather
 * concatenates them and the padding is cut, so every rank gets the full [.., V].
 */
final class VocabParallel {
  private final Tensor embedding; // [n, d] rows [start, start + n) of the vocabulary
  private final Linear head; // [n, d] the matching rows of lm_head, or null
  private final long start;
  private final long vocab;
  private final TensorParallel tp;

  VocabParallel(Tensor embedding, Linear head, ModelConfig c, TensorParallel tp) {
    this.embedding = embedding;
    this.head = head;
    this.start = tp.vocabStart(c);
    this.vocab = c.vocabSize();
    this.tp = tp;
  }

  /**
   * @param ids [B, T] int64, every id in [0, V)
   * @return [B, T, d] the embedding of every id, on every rank
   */
  Tensor embed(Tensor ids) {
    Tensor local = ids.sub(new Scalar(start)); // [B, T] row of this rank's shard
    Tensor foreign = local.lt(new Scalar(0L)).logical_or(local.ge(new Scalar(embedding.size(0)))); // [B, T]
    Tensor rows = torch.embedding(embedding, local.masked_fill(foreign, new Scalar(0L))); // [B, T, d]
    Tensor partial = rows.masked_fill(foreign.unsqueeze(-1), new Scalar(0.0)).contiguous();
    tp.allReduceSum(partial);
    return partial;
  }

  /**
   * @param hidden [B, T, d]
   * @return [B, T, V] float32 logits, the same on every rank
   */
  Tensor logits(Tensor hidden) {
    Tensor local = head.forward(hidden).to(ScalarType.Float); // [B, T, n]
    return tp.gatherLastDim(local, vocab);
  }
}
