package org.rlhfnode.runtime.train;

import java.util.ArrayList;
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
