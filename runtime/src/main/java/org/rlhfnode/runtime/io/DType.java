package org.rlhfnode.runtime.io;

import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Element type of a tensor as safetensors names it in a file header ({@code "F32"}, {@code "BF16"}, ...).
 * Only the types a PyTorch checkpoint of a language model uses are supported; the 8-bit float and
 * unsigned 16/32/64-bit types of the safetensors specification are rejected on open with a clear error.
 */
public enum DType {
  /** IEEE 754 binary64. */
  F64(8),
  /** IEEE 754 binary32. */
  F32(4),
  /** IEEE 754 binary16. */
  F16(2),
  /** bfloat16: the upper half of a binary32. */
  BF16(2),
  /** Signed 64-bit integer. */
  I64(8),
  /** Signed 32-bit integer. */
  I32(4),
  /** Signed 16-bit integer. */
  I16(2),
  /** Signed 8-bit integer. */
  I8(1),
  /** Unsigned 8-bit integer. */
  U8(1),
  /** One byte per element, 0 or 1. */
  BOOL(1);

  private static final Map<String, DType> BY_NAME =
      Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(DType::safetensorsName, Function.identity()));

  private final int byteSize;

  DType(int byteSize) {
    this.byteSize = byteSize;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** The name used for this type in a safetensors header. */
  public String safetensorsName() {
    return name();
  }

  /**
   * The type a safetensors header names, matched exactly (the format is case-sensitive).
   *
   * @throws IllegalArgumentException if the name is not a supported type; the message lists the supported names
   */
  public static DType fromSafetensors(String s) {
    DType type = s == null ? null : BY_NAME.get(s);
    if (type == null) {
      throw new IllegalArgumentException("unknown dtype " + (s == null ? "null" : "'" + s + "'")
          + "; supported: " + supportedNames());
    }
    return type;
  }

  /** The supported names in declaration order, comma-separated, for error messages. */
  static String supportedNames() {
    return Arrays.stream(values()).map(DType::safetensorsName).collect(Collectors.joining(", "));
  }
}
