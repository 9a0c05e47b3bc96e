package org.rlhfnode.messages;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Element types a {@link WireTensor} may hold, named as safetensors names them ({@code "F32"},
 * {@code "BF16"}, ...) so that a role can map them one to one onto the runtime's dtype. Each type has a
 * fixed one-byte code in the binary format; codes are never reused or renumbered.
 */
public enum WireDType {
  /** IEEE 754 binary32. */
  F32(4, 1),
  /** bfloat16, the upper half of a binary32; carried as raw bits. */
  BF16(2, 2),
  /** IEEE 754 binary16; carried as raw bits. */
  F16(2, 3),
  /** Signed 64-bit integer (token ids, positions). */
  I64(8, 4),
  /** Signed 32-bit integer. */
  I32(4, 5),
  /** Unsigned 8-bit integer. */
  U8(1, 6),
  /** One byte per element, 0 or 1 (masks). */
  BOOL(1, 7);

  private final int byteSize;
  private final int wireCode;

  WireDType(int byteSize, int wireCode) {
    this.byteSize = byteSize;
    this.wireCode = wireCode;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** The code written in the binary tensor header. */
  public int wireCode() {
    return wireCode;
  }

  /**
   * The type with this exact (case-sensitive) name.
   *
   * @throws IllegalArgumentException naming the supported types if the name is unknown
   */
  public static WireDType fromName(String name) {
    for (WireDType t : values()) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown dtype " + (name == null ? "null" : "'" + name + "'")
        + "; supported: " + supported());
  }

  /**
   * The type with this binary code.
   *
   * @throws IllegalArgumentException if no type has the code (a corrupt or newer payload)
   */
  public static WireDType fromWireCode(int code) {
    for (WireDType t : values()) {
      if (t.wireCode == code) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown dtype code " + code + "; supported: " + supported());
  }

  private static String supported() {
    return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
  }
}
