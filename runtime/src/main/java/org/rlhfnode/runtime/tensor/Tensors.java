package org.rlhfnode.runtime.tensor;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Moves data between Java arrays and libtorch tensors, in bulk (one native copy per call). Tensors
 * returned here belong to the caller's {@code PointerScope}.
 */
public final class Tensors {
  private Tensors() {}

  /** A CPU float32 tensor holding a copy of {@code data}, viewed as {@code shape}. */
  public static Tensor floats(float[] data, long... shape) {
    checkSize(data.length, shape);
    try (FloatPointer p = new FloatPointer(data)) {
      return torch.from_blob(p, shape, new TensorOptions(ScalarType.Float)).clone();
    }
  }

  /** A CPU int64 tensor holding a copy of {@code data}, viewed as {@code shape}. */
  public static Tensor longs(long[] data, long... shape) {
    checkSize(data.length, shape);
    try (LongPointer p = new LongPointer(data)) {
      return torch.from_blob(p, shape, new TensorOptions(ScalarType.Long)).clone();
    }
  }

  /** A CPU float64 tensor holding a copy of {@code data}, viewed as {@code shape}. */
  public static Tensor doubles(double[] data, long... shape) {
    checkSize(data.length, shape);
    try (DoublePointer p = new DoublePointer(data)) {
      return torch.from_blob(p, shape, new TensorOptions(ScalarType.Double)).clone();
    }
  }

  private static void checkSize(int length, long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    if (n != length) {
      throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " holds " + n
          + " elements, data has " + length);
    }
  }

  /** Copies any tensor (any device, dtype) into a float array in row-major order. */
  public static float[] toFloats(Tensor t) {
    Tensor cpu = t.to(new org.bytedeco.pytorch.Device("cpu"), ScalarType.Float).contiguous();
    float[] out = new float[(int) cpu.numel()];
    cpu.data_ptr_float().get(out);
    return out;
  }

  /** Copies any tensor (any device, dtype) into a double array in row-major order. */
  public static double[] toDoubles(Tensor t) {
    Tensor cpu = t.to(new org.bytedeco.pytorch.Device("cpu"), ScalarType.Double).contiguous();
    double[] out = new double[(int) cpu.numel()];
    cpu.data_ptr_double().get(out);
    return out;
  }

  /** Copies an integer tensor into a long array in row-major order. */
  public static long[] toLongs(Tensor t) {
    Tensor cpu = t.to(new org.bytedeco.pytorch.Device("cpu"), ScalarType.Long).contiguous();
    long[] out = new long[(int) cpu.numel()];
    cpu.data_ptr_long().get(out);
    return out;
  }

  /** The shape of {@code t} as a Java array. */
  public static long[] shape(Tensor t) {
    return t.sizes().vec().get();
  }

  /** Tensor options for a dtype on a device. */
  public static TensorOptions options(ScalarType dtype, DeviceSpec device) {
    return new TensorOptions(dtype).device(new org.bytedeco.pytorch.DeviceOptional(device.torchDevice()));
  }
}
