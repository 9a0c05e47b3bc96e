package org.rlhfnode.messages;

import java.util.Arrays;

/** Checks and arithmetic on tensor shapes, shared by {@link WireTensor} and {@link TensorLayout}. */
final class Shapes {
  /** Largest rank the binary format accepts (the rank is one byte). */
  static final int MAX_RANK = 255;

  private Shapes() {}

  /** A copy of {@code shape}, after checking it is non-null, not too long and has no negative dimension. */
  static long[] checkedCopy(long[] shape, String owner) {
    if (shape == null) {
      throw new IllegalArgumentException(owner + ": shape is null");
    }
    if (shape.length > MAX_RANK) {
      throw new IllegalArgumentException(owner + ": rank " + shape.length + " exceeds " + MAX_RANK);
    }
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(owner + ": negative dimension in shape " + Arrays.toString(shape));
      }
    }
    return shape.clone();
  }

  /** Number of elements; a rank-0 shape is a scalar with one element. */
  static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /** Bytes that {@code shape} elements of {@code dtype} occupy, failing on overflow. */
  static long byteSize(long[] shape, WireDType dtype) {
    return Math.multiplyExact(numel(shape), dtype.byteSize());
  }
}
