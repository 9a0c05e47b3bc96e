package org.rlhfnode.messages;

import java.util.Arrays;

/**
 * Where one named weight tensor lies in the flat byte payload of a weight version: HF name (as on disk),
 * dtype name, shape and byte offset. Part of {@link WeightUpdate}; a receiver cuts the reassembled
 * payload into tensors with it.
 */
public record TensorLayout(String name, String dtype, long[] shape, long offset) {

  /** Checks the fields and copies the shape. */
  public TensorLayout {
    Checks.nonBlank(name, "TensorLayout", "name");
    WireDType.fromName(dtype);
    shape = Shapes.checkedCopy(shape, "TensorLayout " + name);
    Checks.nonNegative(offset, "TensorLayout", "offset");
  }

  /** The shape (a copy). */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Bytes this tensor occupies. */
  public long byteCount() {
    return Shapes.byteSize(shape, WireDType.fromName(dtype));
  }

  /** First byte after this tensor. */
  public long end() {
    return Math.addExact(offset, byteCount());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorLayout t && name.equals(t.name) && dtype.equals(t.dtype)
        && Arrays.equals(shape, t.shape) && offset == t.offset;
  }

  @Override
  public int hashCode() {
    return 31 * (31 * (31 * name.hashCode() + dtype.hashCode()) + Arrays.hashCode(shape)) + Long.hashCode(offset);
  }

  @Override
  public String toString() {
    return "TensorLayout[" + name + " " + dtype + Arrays.toString(shape) + " @" + offset + "]";
  }
}
