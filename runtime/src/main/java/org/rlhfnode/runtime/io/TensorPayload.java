package org.rlhfnode.runtime.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * A tensor to be written by {@link SafetensorsWriter} or {@link CheckpointWriter}: its name, type,
 * shape and a way to stream its little-endian, row-major bytes.
 *
 * <p>Implement it directly to stream from native memory (a libtorch tensor) without a heap copy;
 * use {@link #of} for data already in a {@link ByteBuffer}. A writer calls {@link #writeTo} once per
 * file and checks that exactly {@link #byteLength()} bytes arrived.
 */
public interface TensorPayload {
  /** The tensor name as it will appear in the header. */
  String name();

  /** The element type. */
  DType dtype();

  /** The row-major shape; an empty array is a scalar. */
  long[] shape();

  /** Number of bytes {@link #writeTo} writes: the number of elements times the element size. */
  long byteLength();

  /** Writes exactly {@link #byteLength()} bytes to {@code out}; must not close it. */
  void writeTo(WritableByteChannel out) throws IOException;

  /**
   * A payload over the remaining bytes of {@code littleEndianData}, which are taken as they are
   * (the buffer's {@code order()} does not matter) and must already be little-endian. The buffer's
   * position is not changed, and the payload can be written any number of times.
   *
   * @throws IllegalArgumentException if the remaining bytes differ from the element count times the element size
   */
  static TensorPayload of(String name, DType dtype, long[] shape, ByteBuffer littleEndianData) {
    return new BufferTensorPayload(name, dtype, shape, littleEndianData);
  }
}
