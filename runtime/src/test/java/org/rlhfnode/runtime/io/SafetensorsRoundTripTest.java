package org.rlhfnode.runtime.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writing safetensors files and reading them back. */
class SafetensorsRoundTripTest {
  @TempDir Path tmp;

  private static List<TensorPayload> mixedTensors() {
    return List.of(
        IoTestSupport.randomPayload("z.first", DType.F64, new long[] {3, 5}, 1),
        IoTestSupport.randomPayload("a.half", DType.F16, new long[] {7}, 2),
        IoTestSupport.randomPayload("scalar", DType.I64, new long[] {}, 3),
        IoTestSupport.randomPayload("empty", DType.F32, new long[] {0, 4}, 4),
        IoTestSupport.randomPayload("mask", DType.BOOL, new long[] {2, 3, 1}, 5),
        IoTestSupport.randomPayload("bytes", DType.U8, new long[] {13}, 6),
        IoTestSupport.randomPayload("bf", DType.BF16, new long[] {2, 2}, 7));
  }

  @Test
  void roundTripKeepsOrderTypesShapesBytesAndMetadata() throws IOException {
    List<TensorPayload> tensors = mixedTensors();
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("step", "1200");
    metadata.put("note", "gewichte \u00fc \"quoted\"\n");
    Path file = tmp.resolve("mixed.safetensors");
    SafetensorsWriter.write(file, tensors, metadata);
    try (SafetensorsFile read = SafetensorsFile.open(file)) {
      assertEquals(List.of("format", "note", "step"), List.copyOf(read.metadata().keySet()));
      assertEquals("pt", read.metadata().get("format"));
      assertEquals(metadata.get("note"), read.metadata().get("note"));
      assertEquals(tensors.size(), read.tensors().size());
      for (int i = 0; i < tensors.size(); i++) {
        TensorPayload expected = tensors.get(i);
        TensorInfo info = read.tensors().get(i);
        assertEquals(expected.name(), info.name());
        assertEquals(expected.dtype(), info.dtype());
        assertArrayEquals(expected.shape(), info.shape());
        assertEquals(IoTestSupport.bytesOf(expected), read.data(info.name()), info.name());
      }
    }
  }

  @Test
  void rewritingLlamaFixtureReproducesItByteForByte() {
    Path original = IoTestSupport.hfTiny().resolve("llama").resolve("model.safetensors");
    Path copy = tmp.resolve("model.safetensors");
    try (SafetensorsFile in = SafetensorsFile.open(original)) {
      SafetensorsWriter.write(copy, IoTestSupport.payloads(in), in.metadata());
    }
    assertEquals(-1L, mismatch(original, copy), "first differing byte");
  }

  @Test
  void headerIsPaddedWithSpacesToAMultipleOfEight() throws IOException {
    for (int nameLength = 1; nameLength <= 9; nameLength++) {
      Path file = tmp.resolve("pad" + nameLength + ".safetensors");
      String name = "t".repeat(nameLength);
      SafetensorsWriter.write(file, List.of(IoTestSupport.randomPayload(name, DType.I8, new long[] {3}, 9)), Map.of());
      byte[] bytes = Files.readAllBytes(file);
      int n = (int) ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
      assertEquals(0, n % 8, "header length " + n);
      String header = new String(bytes, 8, n, StandardCharsets.UTF_8);
      String json = "{\"__metadata__\":{\"format\":\"pt\"},\"" + name + "\":" + IoTestSupport.entry("I8", "[3]", 0, 3) + "}";
      assertEquals(json, header.stripTrailing());
      assertTrue(header.length() - json.length() < 8);
      assertEquals(8 + n + 3, bytes.length);
    }
  }

  @Test
  void givenFormatIsKeptAndWrittenFirst() {
    Path file = tmp.resolve("np.safetensors");
    SafetensorsWriter.write(file, List.of(), Map.of("alpha", "1", "format", "np"));
    try (SafetensorsFile read = SafetensorsFile.open(file)) {
      assertEquals(List.of("format", "alpha"), List.copyOf(read.metadata().keySet()));
      assertEquals("np", read.metadata().get("format"));
      assertTrue(read.tensors().isEmpty());
    }
  }

  @Test
  void rewriteReplacesTheFileAndLeavesNoTemporaryFiles() throws IOException {
    Path file = tmp.resolve("w.safetensors");
    SafetensorsWriter.write(file, mixedTensors(), Map.of());
    SafetensorsWriter.write(file, List.of(IoTestSupport.randomPayload("only", DType.I32, new long[] {2}, 3)), Map.of());
    try (SafetensorsFile read = SafetensorsFile.open(file); Stream<Path> entries = Files.list(tmp)) {
      assertEquals(List.of("only"), read.tensors().stream().map(TensorInfo::name).toList());
      assertEquals(List.of(file), entries.toList());
    }
  }

  @Test
  void invalidTensorListsAreRejectedBeforeAnythingIsWritten() {
    Path file = tmp.resolve("bad.safetensors");
    TensorPayload a = IoTestSupport.randomPayload("a", DType.F32, new long[] {2}, 1);
    TensorPayload reserved = IoTestSupport.randomPayload("__metadata__", DType.F32, new long[] {2}, 1);
    assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, List.of(a, a), Map.of()));
    assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, List.of(reserved), Map.of()));
    assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, List.of(custom(2, 7, 7)), Map.of()));
    assertThrows(IllegalArgumentException.class,
        () -> TensorPayload.of("short", DType.F32, new long[] {3}, ByteBuffer.allocate(8)));
    assertFalse(Files.exists(file));
  }

  @Test
  void payloadWritingOtherThanItsDeclaredBytesFailsAndLeavesNoFile() throws IOException {
    Path file = tmp.resolve("short.safetensors");
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> SafetensorsWriter.write(file, List.of(custom(4, 16, 3)), Map.of()));
    assertTrue(e.getMessage().contains("'liar'"), e.getMessage());
    try (Stream<Path> entries = Files.list(tmp)) {
      assertEquals(List.of(), entries.toList(), "no target and no temporary file");
    }
  }

  @Test
  void payloadOfLeavesCallerBufferAloneAndCanBeWrittenTwice() throws IOException {
    ByteBuffer data = ByteBuffer.allocate(12);
    data.position(4);
    TensorPayload p = TensorPayload.of("t", DType.I16, new long[] {4}, data);
    data.put((byte) 42);
    assertEquals(8, p.byteLength());
    assertEquals(5, data.position());
    assertEquals(IoTestSupport.bytesOf(p), IoTestSupport.bytesOf(p));
    assertEquals(42, IoTestSupport.bytesOf(p).get(0), "a view, not a copy");
  }

  @Test
  void copyToCrossesChunkBoundariesAndChecksTheDestination() {
    Path file = tmp.resolve("c.safetensors");
    SafetensorsWriter.write(file, mixedTensors(), Map.of());
    try (SafetensorsFile read = SafetensorsFile.open(file)) {
      ByteBuffer whole = read.data("z.first");
      ByteBuffer dst = ByteBuffer.allocateDirect(200);
      dst.position(3).limit(3 + 120);
      read.copyRange("z.first", 0, dst, 7);
      assertEquals(3 + 120, dst.position());
      assertEquals(whole, dst.slice(3, 120));
      ByteBuffer window = ByteBuffer.allocateDirect(50);
      read.copyRange("z.first", 10, window, 7);
      assertEquals(whole.slice(10, 50), window.flip());
      ByteBuffer tail = ByteBuffer.allocate(11);
      assertThrows(IndexOutOfBoundsException.class, () -> read.copyTo("z.first", 110, tail));
      assertThrows(IndexOutOfBoundsException.class, () -> read.copyTo("z.first", -1, tail));
      assertThrows(IllegalArgumentException.class, () -> read.copyTo("z.first", ByteBuffer.allocate(119)));
      assertThrows(ReadOnlyBufferException.class, () -> read.copyTo("bytes", ByteBuffer.allocate(13).asReadOnlyBuffer()));
      ByteBuffer empty = ByteBuffer.allocate(0);
      read.copyTo("empty", empty);
      assertEquals(0, read.data("empty").remaining());
    }
  }

  @Test
  void unknownNamesAndClosedFilesFailClearly() {
    Path file = tmp.resolve("u.safetensors");
    SafetensorsWriter.write(file, mixedTensors(), Map.of());
    SafetensorsFile read = SafetensorsFile.open(file);
    ByteBuffer before = read.data("bytes");
    assertTrue(read.find("nope").isEmpty());
    NoSuchElementException e = assertThrows(NoSuchElementException.class, () -> read.data("nope"));
    assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("'nope'"), e.getMessage());
    read.close();
    assertThrows(IllegalStateException.class, () -> read.data("bytes"));
    assertEquals(13, before.remaining(), "a buffer handed out earlier stays readable");
    before.get(12);
  }

  /** A payload that declares {@code declared} bytes for a [n] F32 shape and writes {@code written} bytes. */
  private static TensorPayload custom(long n, long declared, int written) {
    return new TensorPayload() {
      @Override public String name() {
        return "liar";
      }

      @Override public DType dtype() {
        return DType.F32;
      }

      @Override public long[] shape() {
        return new long[] {n};
      }

      @Override public long byteLength() {
        return declared;
      }

      @Override public void writeTo(WritableByteChannel out) throws IOException {
        out.write(ByteBuffer.allocate(written));
      }
    };
  }

  private static long mismatch(Path a, Path b) {
    try {
      return Files.mismatch(a, b);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
