package org.rlhfnode.messages;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import org.junit.jupiter.api.Test;

/** Validation, immutability and element access of {@link WireTensor}, without an actor system. */
class WireTensorTest {

  @Test
  void rejectsAByteCountThatIsNotNumelTimesDtypeSize() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> WireTensor.ofBytes("BF16", new long[] {2, 3}, new byte[11]));
    assertEquals("WireTensor BF16[2, 3] needs 12 bytes (numel 6 x 2), got 11", e.getMessage());
  }

  @Test
  void rejectsUnknownDtypesNegativeDimensionsAndOverflowingShapes() {
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
        () -> WireTensor.ofBytes("f32", new long[] {1}, new byte[4]));
    assertTrue(unknown.getMessage().startsWith("unknown dtype 'f32'; supported: F32, BF16"), unknown.getMessage());
    assertThrows(IllegalArgumentException.class, () -> WireTensor.ofBytes("U8", new long[] {-1}, new byte[0]));
    assertThrows(IllegalArgumentException.class,
        () -> WireTensor.ofBytes("I64", new long[] {1L << 40, 1L << 40}, new byte[0]));
  }

  @Test
  void scalarsAndEmptyTensorsAreValid() {
    assertEquals(1, WireTensor.ofFloats(new long[0], 3f).numel());
    WireTensor empty = WireTensor.ofLongs(new long[] {0, 7});
    assertEquals(0, empty.byteCount());
    assertEquals(2, empty.rank());
  }

  @Test
  void copiesTheCallersBytesAndShape() {
    byte[] raw = {1, 2, 3, 4};
    long[] shape = {4};
    WireTensor t = WireTensor.ofBytes("U8", shape, raw);
    raw[0] = 9;
    shape[0] = 2;
    assertArrayEquals(new byte[] {1, 2, 3, 4}, t.toByteArray());
    assertArrayEquals(new long[] {4}, t.shape());
    t.shape()[0] = 1;
    assertEquals(4, t.dim(0));
  }

  @Test
  void handsOutReadOnlyIndependentViews() {
    WireTensor t = WireTensor.ofInts(new long[] {2}, 5, 6);
    ByteBuffer view = t.data();
    assertThrows(ReadOnlyBufferException.class, () -> view.put(0, (byte) 1));
    view.position(8);
    assertEquals(0, t.data().position());
    assertEquals(6, t.data().getInt(4), "views are little-endian");
  }

  @Test
  void equalityComparesDtypeShapeAndBytes() {
    WireTensor a = WireTensor.ofFloats(new long[] {2}, 1f, Float.NaN);
    assertEquals(a, WireTensor.ofFloats(new long[] {2}, 1f, Float.NaN));
    assertEquals(a.hashCode(), WireTensor.ofFloats(new long[] {2}, 1f, Float.NaN).hashCode());
    assertNotEquals(a, WireTensor.ofFloats(new long[] {1, 2}, 1f, Float.NaN));
    assertNotEquals(a, WireTensor.ofInts(new long[] {2}, Float.floatToRawIntBits(1f),
        Float.floatToRawIntBits(Float.NaN)));
    assertEquals("WireTensor[F32[2], 8 bytes]", a.toString());
  }

  @Test
  void widensBf16AndI32Exactly() {
    WireTensor bf16 = WireTensor.ofBf16Bits(new long[] {3}, (short) 0x3F80, (short) 0xC040, (short) 0x7FC0);
    float[] f = bf16.toFloatArray();
    assertEquals(1f, f[0]);
    assertEquals(-3f, f[1]);
    assertTrue(Float.isNaN(f[2]));
    assertArrayEquals(new long[] {-1, Integer.MAX_VALUE},
        WireTensor.ofInts(new long[] {2}, -1, Integer.MAX_VALUE).toLongArray());
    assertThrows(IllegalStateException.class, () -> WireTensor.ofLongs(new long[] {1}, 1).toFloatArray());
  }

  @Test
  void tensorMapRequiresACommonBatchDimension() {
    TensorMap m = TensorMap.of("a", WireTensor.ofFloats(new long[] {2, 1}, 1f, 2f))
        .with("b", WireTensor.ofFloats(new long[] {3}, 1f, 2f, 3f));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.batchSize("X"));
    assertEquals("X: tensor 'b' has batch 3 but 'a' has 2", e.getMessage());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> m.require("values"));
    assertEquals("no tensor 'values'; present: [a, b]", missing.getMessage());
  }
}
