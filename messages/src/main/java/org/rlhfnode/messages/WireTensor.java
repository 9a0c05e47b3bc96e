package org.rlhfnode.messages;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor as it travels between roles: a dtype name ({@code "F32"}, {@code "BF16"}, {@code "F16"},
 * {@code "I64"}, {@code "I32"}, {@code "U8"}, {@code "BOOL"}), a shape, and the elements as raw
 * little-endian bytes in row-major order. The byte count must equal numel × dtype size. The bytes are
 * copied on construction and handed out as read-only views, so the record is immutable; BF16/F16 and
 * NaN payloads keep their exact bit patterns. Equality compares dtype, shape and bytes.
 */
public record WireTensor(String dtype, long[] shape, ByteBuffer data) {

  /** Checks dtype, shape and byte count, then copies the shape and the bytes. */
  public WireTensor {
    WireDType type = WireDType.fromName(dtype);
    shape = Shapes.checkedCopy(shape, "WireTensor");
    long expected;
    try {
      expected = Shapes.byteSize(shape, type);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("WireTensor " + dtype + Arrays.toString(shape) + ": size overflows", e);
    }
    Objects.requireNonNull(data, "WireTensor: data is null");
    if (data.remaining() != expected) {
      throw new IllegalArgumentException("WireTensor " + dtype + Arrays.toString(shape) + " needs " + expected
          + " bytes (numel " + Shapes.numel(shape) + " x " + type.byteSize() + "), got " + data.remaining());
    }
    data = Bytes.readOnlyCopy(data, "WireTensor");
  }

  /** A tensor of any dtype from raw little-endian bytes (copied). */
  public static WireTensor ofBytes(String dtype, long[] shape, byte[] data) {
    return new WireTensor(dtype, shape, ByteBuffer.wrap(data));
  }

  /** An F32 tensor. */
  public static WireTensor ofFloats(long[] shape, float... values) {
    ByteBuffer b = allocate(values.length, 4);
    b.asFloatBuffer().put(values);
    return new WireTensor(WireDType.F32.name(), shape, b);
  }

  /** A BF16 tensor from raw bfloat16 bit patterns. */
  public static WireTensor ofBf16Bits(long[] shape, short... bits) {
    ByteBuffer b = allocate(bits.length, 2);
    b.asShortBuffer().put(bits);
    return new WireTensor(WireDType.BF16.name(), shape, b);
  }

  /** An I64 tensor. */
  public static WireTensor ofLongs(long[] shape, long... values) {
    ByteBuffer b = allocate(values.length, 8);
    b.asLongBuffer().put(values);
    return new WireTensor(WireDType.I64.name(), shape, b);
  }

  /** An I32 tensor. */
  public static WireTensor ofInts(long[] shape, int... values) {
    ByteBuffer b = allocate(values.length, 4);
    b.asIntBuffer().put(values);
    return new WireTensor(WireDType.I32.name(), shape, b);
  }

  private static ByteBuffer allocate(int count, int width) {
    return ByteBuffer.allocate(Math.multiplyExact(count, width)).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The shape (a copy). */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** A read-only little-endian view of the bytes, positioned at 0; reading it does not affect this tensor. */
  @Override
  public ByteBuffer data() {
    return Bytes.view(data);
  }

  /** The dtype as an enum. */
  public WireDType wireDType() {
    return WireDType.fromName(dtype);
  }

  /** Number of elements (1 for a scalar). */
  public long numel() {
    return Shapes.numel(shape);
  }

  /** Size of the raw element bytes. */
  public int byteCount() {
    return data.capacity();
  }

  /** Rank (number of dimensions). */
  public int rank() {
    return shape.length;
  }

  /** Size of dimension {@code i}. */
  public long dim(int i) {
    return shape[i];
  }

  /** The raw little-endian bytes (a copy). */
  public byte[] toByteArray() {
    byte[] out = new byte[data.capacity()];
    data().get(out);
    return out;
  }

  /** The elements as floats: F32 as is, BF16 widened exactly. */
  public float[] toFloatArray() {
    ByteBuffer b = data();
    float[] out = new float[Math.toIntExact(numel())];
    if (WireDType.F32.name().equals(dtype)) {
      b.asFloatBuffer().get(out);
    } else if (WireDType.BF16.name().equals(dtype)) {
      for (int i = 0; i < out.length; i++) {
        out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
      }
    } else {
      throw new IllegalStateException("toFloatArray: dtype " + dtype + " is not F32 or BF16");
    }
    return out;
  }

  /** The elements as longs: I64 as is, I32 widened. */
  public long[] toLongArray() {
    ByteBuffer b = data();
    long[] out = new long[Math.toIntExact(numel())];
    if (WireDType.I64.name().equals(dtype)) {
      b.asLongBuffer().get(out);
    } else if (WireDType.I32.name().equals(dtype)) {
      for (int i = 0; i < out.length; i++) {
        out[i] = b.getInt(4 * i);
      }
    } else {
      throw new IllegalStateException("toLongArray: dtype " + dtype + " is not I64 or I32");
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WireTensor t && dtype.equals(t.dtype) && Arrays.equals(shape, t.shape)
        && data.equals(t.data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + data.hashCode();
  }

  /** Dtype and shape only; the bytes would flood a log. */
  @Override
  public String toString() {
    return "WireTensor[" + dtype + Arrays.toString(shape) + ", " + data.capacity() + " bytes]";
  }
}
