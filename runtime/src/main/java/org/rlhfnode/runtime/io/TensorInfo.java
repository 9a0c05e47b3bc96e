package org.rlhfnode.runtime.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * Where one tensor lives in a safetensors file: its name, element type, row-major shape and the
 * absolute byte range in the file (header included in the offset, unlike the header's
 * {@code data_offsets}, so a reader can map or seek directly).
 *
 * <p>The shape array is copied in and out, so an instance is immutable; {@code equals} and
 * {@code hashCode} compare shapes by content.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long byteOffset, long byteLength) {

  /** Checks the invariants a parsed header guarantees; a violation here is a programming error. */
  public TensorInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    shape = Objects.requireNonNull(shape, "shape").clone();
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
      }
    }
    if (byteOffset < 0 || byteLength < 0) {
      throw new IllegalArgumentException("tensor '" + name + "': negative byteOffset or byteLength");
    }
    if (Math.multiplyExact(numel(shape), (long) dtype.byteSize()) != byteLength) {
      throw new IllegalArgumentException("tensor '" + name + "': byteLength " + byteLength
          + " != numel x " + dtype.byteSize());
    }
  }

  /** A copy of the shape; an empty array is a scalar. */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of elements: the product of the dimensions, 1 for a scalar. */
  public long numel() {
    return numel(shape);
  }

  /**
   * Product of the dimensions.
   *
   * @throws ArithmeticException if it overflows a long
   */
  static long numel(long[] shape) {
    long n = 1;
    for (long dim : shape) {
      n = Math.multiplyExact(n, dim);
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo other
        && name.equals(other.name)
        && dtype == other.dtype
        && Arrays.equals(shape, other.shape)
        && byteOffset == other.byteOffset
        && byteLength == other.byteLength;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, dtype, Arrays.hashCode(shape), byteOffset, byteLength);
  }

  @Override
  public String toString() {
    return "TensorInfo[" + name + ", " + dtype + ", " + Arrays.toString(shape)
        + ", offset=" + byteOffset + ", bytes=" + byteLength + "]";
  }
}
