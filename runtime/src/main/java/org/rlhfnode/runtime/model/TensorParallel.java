package org.rlhfnode.runtime.model;

import java.util.Arrays;
import java.util.Objects;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.rlhfnode.runtime.dist.Collectives;

/**
 * One rank's view of Megatron-style tensor-parallel inference over N ranks (N = the group's size):
 * rank r holds heads [r·H/N, (r+1)·H/N) of q and o, its KV heads (split when N divides the KV heads,
 * else the one KV head r / (N/KV) its query heads read, replicated as vLLM does), columns
 * [r·F/N, (r+1)·F/N) of the SwiGLU MLP and rows [r·⌈V/N⌉, …) of the vocabulary. Row-parallel
 * outputs are summed with an all-reduce, vocabulary-parallel logits are all-gathered, so every rank
 * ends each forward with the same full logits.
 *
 * <p>This object also counts the wall time spent in its collectives (for {@code bench generate}).
 * The count is updated on the rank's own thread; read it there too.
 */
public final class TensorParallel {
  private final Collectives collectives;
  private final int rank;
  private final int size;
  private long collectiveNanos; // written and read by this rank's thread only

  private TensorParallel(Collectives collectives) {
    this.collectives = Objects.requireNonNull(collectives, "collectives");
    this.rank = collectives.rank();
    this.size = collectives.worldSize();
  }

  /** Rank {@code collectives.rank()} of a tensor-parallel group of {@code collectives.worldSize()}. */
  public static TensorParallel over(Collectives collectives) {
    return new TensorParallel(collectives);
  }

  public int rank() {
    return rank;
  }

  /** N, the tensor-parallel degree ({@code --tp}). */
  public int size() {
    return size;
  }

  /**
   * Checks that {@code c} splits N ways; the error names the {@code config.json} key and {@code --tp}.
   *
   * @throws ConfigException if the heads, KV heads or MLP width do not split
   */
  public void check(ModelConfig c) {
    check(c, size);
  }

  /**
   * {@link #check(ModelConfig)} for a degree of {@code size}, before any group is formed (so a
   * launcher can refuse a bad {@code --tp} at once instead of in every rank).
   */
  public static void check(ModelConfig c, int size) {
    if (size < 1) {
      throw new IllegalArgumentException("--tp must be >= 1, got " + size);
    }
    if (c.numHeads() % size != 0) {
      throw new ConfigException("num_attention_heads", "config.json num_attention_heads (" + c.numHeads()
          + ") is not divisible by --tp " + size);
    }
    int kv = c.numKvHeads();
    if (kv % size != 0 && size % kv != 0) {
      throw new ConfigException("num_key_value_heads", "config.json num_key_value_heads (" + kv
          + ") and --tp " + size + " must divide one another (KV heads are split when --tp divides them,"
          + " replicated when they divide --tp)");
    }
    if (c.intermediateSize() % size != 0) {
      throw new ConfigException("intermediate_size", "config.json intermediate_size (" + c.intermediateSize()
          + ") is not divisible by --tp " + size);
    }
  }

  /** Query heads on this rank, H / N. */
  public int localHeads(ModelConfig c) {
    return c.numHeads() / size;
  }

  /** KV heads on this rank: KV / N when N divides them, else 1 (replicated). */
  public int localKvHeads(ModelConfig c) {
    return c.numKvHeads() % size == 0 ? c.numKvHeads() / size : 1;
  }

  /** The first KV head this rank holds: r·KV/N when split, r / (N/KV) when replicated. */
  int firstKvHead(ModelConfig c) {
    int kv = c.numKvHeads();
    return kv % size == 0 ? rank * (kv / size) : rank / (size / kv);
  }

  /** MLP columns on this rank, F / N (each expert's, for MoE). */
  long localIntermediate(ModelConfig c) {
    return c.intermediateSize() / size;
  }

  /** Vocabulary rows per rank, ⌈V / N⌉; the last ranks' rows past V are zero padding. */
  long vocabShard(ModelConfig c) {
    return (c.vocabSize() + size - 1L) / size;
  }

  /** The first vocabulary id this rank holds. */
  long vocabStart(ModelConfig c) {
    return rank * vocabShard(c);
  }

  /** {@code t ← Σ_ranks t} in place; {@code t} must be contiguous. */
  void allReduceSum(Tensor t) {
    long start = System.nanoTime();
    collectives.allReduceSum(t);
    collectiveNanos += System.nanoTime() - start;
  }

  /**
   * Concatenates the ranks' equal-sized last dimensions and keeps the first {@code full} entries.
   *
   * @param local [..., n] this rank's piece (n = ⌈full / N⌉)
   * @return [..., full] the same on every rank
   */
  Tensor gatherLastDim(Tensor local, long full) {
    long[] shape = local.sizes().vec().get();
    long n = shape[shape.length - 1];
    Tensor piece = local.contiguous().view(-1); // [numel]
    Tensor all = torch.empty(new long[] {size * piece.numel()}, piece.options(),
        new org.bytedeco.pytorch.MemoryFormatOptional()); // [N · numel]: rank-major
    long start = System.nanoTime();
    collectives.allGather(all, piece);
    collectiveNanos += System.nanoTime() - start;
    long[] stacked = new long[shape.length + 1];
    stacked[0] = size;
    System.arraycopy(shape, 0, stacked, 1, shape.length);
    long[] joined = Arrays.copyOf(shape, shape.length);
    joined[shape.length - 1] = size * n;
    Tensor whole = all.view(stacked).movedim(0, shape.length - 1).reshape(joined); // [..., N·n]
    return full == size * n ? whole : whole.narrow(shape.length - 1, 0, full).contiguous();
  }

  /** Wall time spent in this rank's collectives since the last {@link #resetCollectiveTime}. */
  public long collectiveNanos() {
    return collectiveNanos;
  }

  public void resetCollectiveTime() {
    collectiveNanos = 0;
  }

  @Override
  public String toString() {
    return "tensor-parallel rank " + rank + " of " + size;
  }
}
