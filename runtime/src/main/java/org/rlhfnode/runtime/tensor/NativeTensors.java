package org.rlhfnode.runtime.tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.io.TensorPayload;

/**
 * Bridges checkpoint bytes and libtorch memory: dtype names, direct byte views over a CPU tensor's
 * storage, and tensors as {@link TensorPayload}s for the safetensors writer. Copies are bulk
 * (memcpy-sized), never per element.
 */
public final class NativeTensors {
  /** Largest slice exposed as one {@link ByteBuffer}. */
  private static final long CHUNK = 1L << 30;

  private NativeTensors() {}

  /** The libtorch type of a floating checkpoint dtype; integer/bool buffers map too. */
  public static ScalarType scalarType(DType d) {
    switch (d) {
      case F64: return ScalarType.Double;
      case F32: return ScalarType.Float;
      case F16: return ScalarType.Half;
      case BF16: return ScalarType.BFloat16;
      case I64: return ScalarType.Long;
      case I32: return ScalarType.Int;
      case I16: return ScalarType.Short;
      case I8: return ScalarType.Char;
      case U8: return ScalarType.Byte;
      case BOOL: return ScalarType.Bool;
      default: throw new IllegalArgumentException("no libtorch type for " + d);
    }
  }

  /** The checkpoint dtype of a libtorch type. */
  public static DType dtype(ScalarType t) {
    for (DType d : DType.values()) {
      if (scalarType(d) == t) {
        return d;
      }
    }
    throw new IllegalArgumentException("no safetensors dtype for " + t);
  }

  /**
   * A little-endian view of bytes [{@code offset}, {@code offset + length}) of a contiguous CPU
   * tensor's storage; valid while the tensor lives. {@code length} must be ≤ 1 GiB.
   */
  public static ByteBuffer bytes(Tensor cpuContiguous, long offset, long length) {
    BytePointer p = new BytePointer(cpuContiguous.data_ptr());
    p.position(offset).limit(offset + length);
    return p.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Size of the views {@link #forEachChunk} hands out. */
  public static long chunkSize() {
    return CHUNK;
  }

  /** A CPU tensor as a payload for the safetensors writer (the tensor must stay alive until written). */
  public static TensorPayload payload(String name, Tensor cpuContiguous) {
    DType dtype = dtype(cpuContiguous.scalar_type().intern());
    long[] shape = Tensors.shape(cpuContiguous);
    long length = cpuContiguous.nbytes();
    return new TensorPayload() {
      @Override public String name() { return name; }
      @Override public DType dtype() { return dtype; }
      @Override public long[] shape() { return shape.clone(); }
      @Override public long byteLength() { return length; }
      @Override public void writeTo(WritableByteChannel out) throws IOException {
        for (long off = 0; off < length; off += CHUNK) {
          ByteBuffer b = bytes(cpuContiguous, off, Math.min(CHUNK, length - off));
          while (b.hasRemaining()) {
            out.write(b);
          }
        }
      }
    };
  }
}
