package org.rlhfnode.runtime.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data section larger than one ByteBuffer can map, built as a sparse file (a few kB on disk), so
 * the per-region mapping path and the size limit of {@code data} are exercised without 2 GiB of I/O.
 */
class LargeFileTest {
  private static final long BIG = (1L << 31) + 8;
  private static final float[] FAR_VALUES = {1.5f, -2.25f, 3e-3f, 42f};
  /** Written inside "big" across byte 2^31 of the tensor, where an int offset would overflow. */
  private static final byte[] MARKER = {1, 2, 3, 4, 5, 6, 7, 8};
  private static final long MARKER_AT = (1L << 31) - 4;

  @TempDir Path tmp;
  private Path file;

  @BeforeEach
  void writeSparseFile() throws IOException {
    String header = "{\"big\":" + IoTestSupport.entry("U8", "[" + BIG + "]", 0, BIG)
        + ",\"far\":" + IoTestSupport.entry("F32", "[4]", BIG, BIG + 16) + "}";
    file = IoTestSupport.craft(tmp, "large.safetensors", header, 0);
    long dataStart = 8 + header.length();
    ByteBuffer far = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : FAR_VALUES) {
      far.putFloat(v);
    }
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(dataStart + BIG + 16);
      raf.seek(dataStart + BIG);
      raf.write(far.array());
      raf.seek(dataStart + MARKER_AT);
      raf.write(MARKER);
    }
  }

  @Test
  void tensorsBeyondTwoGibibytesAreReadThroughTheirOwnMapping() {
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      ByteBuffer far = f.data("far");
      assertTrue(far.isReadOnly());
      for (int i = 0; i < FAR_VALUES.length; i++) {
        assertEquals(FAR_VALUES[i], far.getFloat(4 * i));
      }
      ByteBuffer copy = ByteBuffer.allocateDirect(16);
      f.copyRange("far", 0, copy, 5);
      assertEquals(far, copy.flip());
    }
  }

  @Test
  void windowsOfATensorOverTwoGibibytesCanBeCopied() {
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      ByteBuffer window = ByteBuffer.allocateDirect(MARKER.length + 8);
      f.copyTo("big", MARKER_AT - 4, window);
      byte[] expected = new byte[MARKER.length + 8];
      System.arraycopy(MARKER, 0, expected, 4, MARKER.length);
      assertEquals(ByteBuffer.wrap(expected), window.flip());
      ByteBuffer chunked = ByteBuffer.allocate(MARKER.length);
      f.copyRange("big", MARKER_AT, chunked, 3);
      assertEquals(ByteBuffer.wrap(MARKER), chunked.flip());
      ByteBuffer last = ByteBuffer.allocate(8);
      f.copyTo("big", BIG - 8, last);
      assertThrows(IndexOutOfBoundsException.class, () -> f.copyTo("big", BIG - 7, ByteBuffer.allocate(8)));
    }
  }

  @Test
  void dataRefusesTensorsOverTwoGibibytesAndPointsToCopyTo() {
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertEquals(BIG, f.find("big").orElseThrow().byteLength());
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.data("big"));
      assertTrue(e.getMessage().contains("'big'") && e.getMessage().contains("copyTo"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> f.copyTo("big", ByteBuffer.allocateDirect(1 << 20)));
    }
  }
}
