package org.rlhfnode.messages;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/** Byte-buffer helpers that keep message payloads immutable. */
final class Bytes {
  private Bytes() {}

  /**
   * A read-only little-endian copy of the remaining bytes of {@code src}, positioned at 0; the
   * position of {@code src} is left unchanged. The copy is what makes a message immune to later
   * writes into the caller's (or Artery's reused) buffer.
   */
  static ByteBuffer readOnlyCopy(ByteBuffer src, String owner) {
    if (src == null) {
      throw new IllegalArgumentException(owner + ": bytes are null");
    }
    ByteBuffer copy = ByteBuffer.allocate(src.remaining());
    copy.put(src.duplicate());
    copy.flip();
    return copy.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** An independent read-only little-endian view of a stored payload, positioned at 0. */
  static ByteBuffer view(ByteBuffer stored) {
    return stored.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** CRC32C of the remaining bytes of {@code buf}, as an unsigned 32-bit value; the position is unchanged. */
  static long crc32c(ByteBuffer buf) {
    CRC32C crc = new CRC32C();
    crc.update(buf.duplicate());
    return crc.getValue();
  }
}
