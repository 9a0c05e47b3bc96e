package org.rlhfnode.runtime.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The payload digest against its definition, computed here with the JDK's SHA-256 directly. */
class PayloadDigestTest {

  private static PayloadBuffer random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    PayloadBuffer b = PayloadBuffer.allocate(size);
    b.write(0, ByteBuffer.wrap(bytes));
    return b;
  }

  /** SHA-256(le64(size) ‖ SHA-256 of each 16 MiB segment), straight from the definition. */
  private static String byDefinition(PayloadBuffer b) throws Exception {
    ByteArrayOutputStream outer = new ByteArrayOutputStream();
    outer.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(b.size()).array());
    for (long off = 0; off < b.size(); off += PayloadDigest.SEGMENT_BYTES) {
      int n = (int) Math.min(PayloadDigest.SEGMENT_BYTES, b.size() - off);
      byte[] seg = new byte[n];
      b.read(off, n).get(seg);
      outer.write(MessageDigest.getInstance("SHA-256").digest(seg));
    }
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(outer.toByteArray()));
  }

  @Test
  void matchesItsDefinitionAcrossSegmentBoundaries() throws Exception {
    for (int size : List.of(0, 1, 1000, PayloadDigest.SEGMENT_BYTES, 2 * PayloadDigest.SEGMENT_BYTES + 5)) {
      try (PayloadBuffer b = random(size, size)) {
        String d = PayloadDigest.of(b);
        assertTrue(d.matches("[0-9a-f]{64}"), d);
        assertEquals(byDefinition(b), d, "size " + size);
      }
    }
  }

  @Test
  void oneFlippedBitOrOneMoreByteChangesIt() {
    try (PayloadBuffer a = random(3 * PayloadDigest.SEGMENT_BYTES / 2, 1);
        PayloadBuffer b = random(3 * PayloadDigest.SEGMENT_BYTES / 2, 1);
        PayloadBuffer longer = PayloadBuffer.allocate(a.size() + 1)) {
      assertEquals(PayloadDigest.of(a), PayloadDigest.of(b));
      byte x = b.read(PayloadDigest.SEGMENT_BYTES + 7, 1).get();
      b.write(PayloadDigest.SEGMENT_BYTES + 7, ByteBuffer.wrap(new byte[] {(byte) (x ^ 0x10)}));
      assertNotEquals(PayloadDigest.of(a), PayloadDigest.of(b));
      byte[] all = new byte[(int) a.size()];
      a.read(0, all.length).get(all);
      longer.write(0, ByteBuffer.wrap(all));
      longer.write(all.length, ByteBuffer.wrap(new byte[] {0}));
      assertNotEquals(PayloadDigest.of(a), PayloadDigest.of(longer), "a trailing zero byte is not the same payload");
    }
  }
}
