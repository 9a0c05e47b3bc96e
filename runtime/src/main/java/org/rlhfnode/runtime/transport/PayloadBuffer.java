package org.rlhfnode.runtime.transport;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * A flat run of bytes in native memory: a contiguous CPU uint8 tensor of {@link #size()} elements, in
 * host byte order (little-endian on every platform libtorch ships for). Allocated by libtorch rather than
 * on the Java heap so that it may exceed 2 GiB, and so that a c10d collective can send or receive straight
 * into it ({@link #tensor()}). Chunked transports copy in and out through {@link ByteBuffer} views.
 * Survives the allocating thread's {@code PointerScope}; freed by {@link #close()} (or, failing that, when the
 * garbage collector finds it unreachable).
 */
public final class PayloadBuffer implements AutoCloseable {
  private final Tensor bytes; // [size] uint8, CPU, contiguous
  private final long size;
  private final AtomicBoolean closed = new AtomicBoolean();

  private PayloadBuffer(Tensor bytes, long size) {
    this.bytes = bytes;
    this.size = size;
    bytes.retainReference(); // outlives any PointerScope of the allocating thread, until close()
  }

  /** An uninitialised buffer of {@code size} bytes. */
  public static PayloadBuffer allocate(long size) {
    if (size < 0) {
      throw new IllegalArgumentException("PayloadBuffer size must be >= 0, got " + size);
    }
    Tensor t = torch.empty(new long[] {size}, Tensors.options(ScalarType.Byte, DeviceSpec.CPU),
        new org.bytedeco.pytorch.MemoryFormatOptional());
    return new PayloadBuffer(t, size);
  }

  /** Number of bytes. */
  public long size() {
    return size;
  }

  /**
   * The uint8 tensor [{@link #size()}] that holds the bytes (not a copy): a collective may write into it.
   * Valid until {@link #close()}.
   */
  public Tensor tensor() {
    return bytes;
  }

  /** A read-only little-endian view of bytes [{@code offset}, {@code offset + length}); valid until close. */
  public ByteBuffer read(long offset, int length) {
    return view(offset, length).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Copies the remaining bytes of {@code src} to {@code offset}; the position of {@code src} is unchanged. */
  public void write(long offset, ByteBuffer src) {
    view(offset, src.remaining()).put(src.duplicate());
  }

  private ByteBuffer view(long offset, int length) {
    if (offset < 0 || length < 0 || offset + length > size) {
      throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + length) + ") are outside the "
          + size + "-byte payload buffer");
    }
    if (length == 0) {
      return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
    }
    return NativeTensors.bytes(bytes, offset, length);
  }

  /** Frees the native memory (once; later calls do nothing); views and the tensor must not be used afterwards. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      bytes.releaseReference();
    }
  }
}
