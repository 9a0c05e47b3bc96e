package org.rlhfnode.runtime.dist;

import java.util.Objects;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.ReduceScatterOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * The collectives one rank of a group uses, over a c10d {@link Backend}: Gloo on CPU tensors,
 * NCCL on CUDA tensors (the same calls; the backend decides the transport). A group of one rank
 * ({@link #single()}) has no backend and every collective is the identity, so code written for N
 * ranks runs unchanged on one.
 *
 * <p>Every call blocks until this rank's part is done, and every rank of the group must make the
 * same calls in the same order with tensors of the same shapes (c10d's contract). Tensors must be
 * contiguous. Failures (a rank that died, a timeout) are {@link CollectiveException}s naming the
 * operation and this rank.
 */
public final class Collectives {
  private final Backend backend; // null for a group of one
  private final int rank;
  private final int worldSize;
  private final DeviceSpec device; // where this backend's tensors live: CPU for Gloo, the rank's GPU for NCCL
  private long busyNanos; // time spent waiting in collectives (one rank thread uses this object)

  private Collectives(Backend backend, int rank, int worldSize, DeviceSpec device) {
    this.backend = backend;
    this.rank = rank;
    this.worldSize = worldSize;
    this.device = device;
  }

  /** A failed collective: one line naming the operation, the rank and the backend's reason. */
  public static final class CollectiveException extends RuntimeException {
    CollectiveException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The group of one rank: every collective returns its input. */
  public static Collectives single() {
    return new Collectives(null, 0, 1, DeviceSpec.CPU);
  }

  /**
   * Rank {@code rank} of {@code worldSize} over {@code backend}; the caller keeps the backend alive
   * (and closes it) for as long as this object is used.
   */
  public static Collectives over(Backend backend, int rank, int worldSize) {
    return over(backend, rank, worldSize, DeviceSpec.CPU);
  }

  /** As {@link #over(Backend, int, int)} for a backend whose tensors live on {@code device} (NCCL: the rank's GPU). */
  public static Collectives over(Backend backend, int rank, int worldSize, DeviceSpec device) {
    Objects.requireNonNull(backend, "backend");
    if (worldSize < 1 || rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException("rank " + rank + " is not in a group of " + worldSize);
    }
    return new Collectives(backend, rank, worldSize, device);
  }

  /** The device of this backend's tensors. */
  public DeviceSpec device() {
    return device;
  }

  public int rank() {
    return rank;
  }

  public int worldSize() {
    return worldSize;
  }

  /** Whether this rank is rank 0 (the one that logs and writes files). */
  public boolean isFirst() {
    return rank == 0;
  }

  /** {@code t ← Σ_ranks t}, in place, on every rank. */
  public void allReduceSum(Tensor t) {
    if (backend == null) {
      return;
    }
    try (PointerScope scope = new PointerScope(); TensorVector v = new TensorVector(t);
        AllreduceOptions o = new AllreduceOptions()) {
      o.reduceOp(new ReduceOp(ReduceOp.RedOpType.SUM));
      await(backend.allreduce(v, o), "all-reduce of " + t.numel() + " elements");
    }
  }

  /**
   * {@code out[r·n : (r+1)·n] ← in of rank r}: the ranks' equal-sized pieces concatenated in rank order.
   *
   * @param out [worldSize · n], contiguous
   * @param in [n], contiguous
   */
  public void allGather(Tensor out, Tensor in) {
    checkSizes(out, in, "all-gather");
    if (backend == null) {
      out.copy_(in);
      return;
    }
    try (PointerScope scope = new PointerScope()) {
      await(backend._allgather_base(out, in), "all-gather of " + in.numel() + " elements per rank");
    }
  }

  /**
   * {@code out ← Σ_ranks in[rank·n : (rank+1)·n]}: this rank's piece of the sum over the ranks.
   *
   * @param out [n], contiguous
   * @param in [worldSize · n], contiguous
   */
  public void reduceScatterSum(Tensor out, Tensor in) {
    checkSizes(in, out, "reduce-scatter");
    if (backend == null) {
      out.copy_(in);
      return;
    }
    try (PointerScope scope = new PointerScope(); ReduceScatterOptions o = new ReduceScatterOptions()) {
      o.reduceOp(new ReduceOp(ReduceOp.RedOpType.SUM));
      await(backend._reduce_scatter_base(out, in, o), "reduce-scatter of " + in.numel() + " elements");
    }
  }

  /** {@code t ← t of rank root}, in place, on every rank. */
  public void broadcast(Tensor t, int root) {
    if (backend == null) {
      return;
    }
    try (PointerScope scope = new PointerScope(); TensorVector v = new TensorVector(t);
        BroadcastOptions o = new BroadcastOptions().rootRank(root)) {
      await(backend.broadcast(v, o), "broadcast of " + t.numel() + " elements from rank " + root);
    }
  }

  /** Σ over the ranks of a double, on every rank (a one-element all-reduce in float64). */
  public double sum(double value) {
    return sum(new double[] {value})[0];
  }

  /** Element-wise Σ over the ranks of {@code values}, on every rank, in one float64 all-reduce. */
  public double[] sum(double[] values) {
    if (backend == null) {
      return values.clone();
    }
    try (PointerScope scope = new PointerScope()) {
      Tensor t = Tensors.doubles(values, values.length).to(device.torchDevice(),
          org.bytedeco.pytorch.global.torch.ScalarType.Double); // [n]
      allReduceSum(t);
      return Tensors.toDoubles(t.cpu());
    }
  }

  /** Waits until every rank has reached this call. */
  public void barrier() {
    if (backend == null) {
      return;
    }
    if (device.cuda()) {
      sum(0); // NCCL's own barrier guesses a device (rank % GPUs) until a collective has run: all-reduce on ours
      return;
    }
    try (PointerScope scope = new PointerScope()) {
      await(backend.barrier(), "barrier");
    }
  }

  /** Nanoseconds this rank has spent in collectives so far (what {@code bench train} reports as communication). */
  public long busyNanos() {
    return busyNanos;
  }

  /** {@code rank r of n (backend)}, for messages. */
  public String describe() {
    return "rank " + rank + " of " + worldSize + (backend == null ? "" : " (" + backend.getBackendName().getString() + ")");
  }

  private void checkSizes(Tensor whole, Tensor piece, String op) {
    if (whole.numel() != piece.numel() * worldSize) {
      throw new IllegalArgumentException(op + ": the whole tensor has " + whole.numel() + " elements, expected "
          + worldSize + " × " + piece.numel());
    }
  }

  private void await(Work work, String what) {
    long start = System.nanoTime();
    try (Work w = work) {
      w._wait();
      busyNanos += System.nanoTime() - start;
    } catch (RuntimeException e) {
      String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip();
      int nl = m.indexOf('\n');
      throw new CollectiveException(what + " failed on " + describe() + ": " + (nl < 0 ? m : m.substring(0, nl)), e);
    }
  }
}
