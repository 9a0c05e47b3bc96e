package org.rlhfnode.runtime.transport;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.stream.IntStream;

/**
 * The SHA-256 digest that names a weight payload's bytes, so that a receiver installs only the bytes the
 * trainer announced (over the cluster connection) whatever path the bytes took.
 *
 * <pre>
 *   digest = SHA-256( le64(size) ‖ SHA-256(segment 0) ‖ … ‖ SHA-256(segment n-1) )
 * </pre>
 * where the segments are the consecutive {@value #SEGMENT_BYTES}-byte runs of the payload (the last one
 * shorter, none for an empty payload). Hashing segments independently lets them be hashed in parallel;
 * the outer hash over their digests and the size keeps it a collision-resistant function of the bytes.
 * Written as 64 lower-case hex digits.
 */
public final class PayloadDigest {
  /** Bytes per independently hashed segment (16 MiB). */
  public static final int SEGMENT_BYTES = 16 << 20;

  private static final int READ_BYTES = 1 << 20; // a heap bounce buffer of this size per segment hash

  private PayloadDigest() {}

  /** The digest of {@code buffer}'s bytes; segments are hashed on the common fork-join pool. */
  public static String of(PayloadBuffer buffer) {
    long size = buffer.size();
    int segments = (int) ((size + SEGMENT_BYTES - 1) / SEGMENT_BYTES);
    byte[][] parts = new byte[segments][];
    IntStream.range(0, segments).parallel().forEach(i -> {
      long offset = (long) i * SEGMENT_BYTES;
      parts[i] = sha256(buffer, offset, (int) Math.min(SEGMENT_BYTES, size - offset));
    });
    MessageDigest outer = newSha256();
    outer.update(ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(0, size));
    for (byte[] part : parts) {
      outer.update(part);
    }
    return HexFormat.of().formatHex(outer.digest());
  }

  private static byte[] sha256(PayloadBuffer buffer, long offset, int length) {
    MessageDigest md = newSha256();
    byte[] bounce = new byte[Math.min(READ_BYTES, length)];
    for (int done = 0; done < length; ) {
      int n = Math.min(bounce.length, length - done);
      buffer.read(offset + done, n).get(bounce, 0, n); // heap arrays take the intrinsic's fast path
      md.update(bounce, 0, n);
      done += n;
    }
    return md.digest();
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e); // every Java SE has it
    }
  }
}
