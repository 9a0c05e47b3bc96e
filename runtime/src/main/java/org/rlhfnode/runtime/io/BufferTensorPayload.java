package org.rlhfnode.runtime.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;
import java.util.Objects;

/** {@link TensorPayload#of}: a tensor whose bytes are already in a buffer. */
final class BufferTensorPayload implements TensorPayload {
  private final String name;
  private final DType dtype;
  private final long[] shape;
  // A private view, so the caller's position and limit are left alone and every writeTo starts at the first byte.
  private final ByteBuffer data;

  BufferTensorPayload(String name, DType dtype, long[] shape, ByteBuffer littleEndianData) {
    this.name = Objects.requireNonNull(name, "name");
    this.dtype = Objects.requireNonNull(dtype, "dtype");
    this.shape = Objects.requireNonNull(shape, "shape").clone();
    this.data = Objects.requireNonNull(littleEndianData, "littleEndianData").slice();
    if (Arrays.stream(this.shape).anyMatch(d -> d < 0)) {
      throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(this.shape));
    }
    long expected = Math.multiplyExact(TensorInfo.numel(this.shape), (long) dtype.byteSize());
    if (expected != data.remaining()) {
      throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(this.shape) + " of "
          + dtype + " needs " + expected + " bytes but the buffer has " + data.remaining());
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public DType dtype() {
    return dtype;
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public long byteLength() {
    return data.remaining();
  }

  @Override
  public void writeTo(WritableByteChannel out) throws IOException {
    ByteBuffer view = data.duplicate();
    while (view.hasRemaining()) {
      out.write(view);
    }
  }

  @Override
  public String toString() {
    return "TensorPayload[" + name + ", " + dtype + ", " + Arrays.toString(shape) + "]";
  }
}
