package org.rlhfnode.runtime.train;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.rlhfnode.runtime.dist.Collectives;

/**
 * Sums gradients over the data-parallel ranks a bucket at a time: consecutive gradients of one dtype
 * are flattened into one buffer of up to {@link #BUCKET_BYTES} (DeepSpeed's and DDP's default is
 * 25 MB), the buffer is all-reduced, and the sums are copied back. Few large messages instead of one
 * per tensor.
 */
public final class GradientBuckets {
  /** Largest bucket; a tensor larger than this travels alone. */
  public static final long BUCKET_BYTES = 25L << 20;

  private GradientBuckets() {}

  /**
   * Makes the ranks agree on which of {@code params} have a gradient (a mixture-of-experts layer may
   * route no token of one rank's micro-batches to an expert): a tensor with a gradient on any rank gets
   * a zero gradient on the ranks that have none, so that every rank all-reduces the same tensors; a
   * tensor with a gradient on no rank keeps none, and AdamW skips it as one rank would. One all-reduce
   * of a flag per tensor.
   */
  public static void alignPresence(Collection<Tensor> params, Collectives collectives) {
    if (collectives.worldSize() == 1 || params.isEmpty()) {
      return;
    }
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      float[] has = new float[params.size()];
      int i = 0;
      for (Tensor p : params) {
        has[i++] = p.grad().defined() ? 1f : 0f;
      }
      Tensor flags = org.rlhfnode.runtime.tensor.Tensors.floats(has, has.length)
          .to(collectives.device().torchDevice(), org.bytedeco.pytorch.global.torch.ScalarType.Float); // [P]
      collectives.allReduceSum(flags);
      float[] anywhere = org.rlhfnode.runtime.tensor.Tensors.toFloats(flags.cpu());
      i = 0;
      for (Tensor p : params) {
        if (anywhere[i++] > 0 && !p.grad().defined()) {
          p.mutable_grad().put(torch.zeros_like(p));
        }
      }
    }
  }

  /** Replaces each gradient by its sum over the ranks. */
  public static void allReduce(List<Tensor> grads, Collectives collectives) {
    List<Tensor> bucket = new ArrayList<>();
    long bytes = 0;
    for (Tensor g : grads) {
      long size = g.numel() * g.element_size();
      boolean sameType = bucket.isEmpty() || bucket.get(0).scalar_type().intern() == g.scalar_type().intern();
      if (!bucket.isEmpty() && (bytes + size > BUCKET_BYTES || !sameType)) {
        flush(bucket, collectives);
        bucket.clear();
        bytes = 0;
      }
      bucket.add(g);
      bytes += size;
    }
    if (!bucket.isEmpty()) {
      flush(bucket, collectives);
    }
  }

  private static void flush(List<Tensor> bucket, Collectives collectives) {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      TensorVector flat = new TensorVector();
      for (Tensor g : bucket) {
        flat.push_back(g.reshape(-1));
      }
      Tensor buffer = torch.cat(flat); // [Σ numel]
      collectives.allReduceSum(buffer);
      long offset = 0;
      for (Tensor g : bucket) {
        long n = g.numel();
        g.copy_(buffer.narrow(0, offset, n).view(g.sizes()));
        offset += n;
      }
    }
  }
}
