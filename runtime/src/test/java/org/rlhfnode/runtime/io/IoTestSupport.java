package org.rlhfnode.runtime.io;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.function.Executable;

/** Shared helpers for the io tests: fixture location, crafted files, payloads, error assertions. */
final class IoTestSupport {
  static final ObjectMapper JSON = new ObjectMapper();

  private IoTestSupport() {}

  /** The hf-tiny fixture directory, from the {@code rlhf.fixtures} property that surefire sets. */
  static Path hfTiny() {
    String root = System.getProperty("rlhf.fixtures");
    if (root == null) {
      fail("system property rlhf.fixtures is not set; run the tests through Maven (surefire sets it) "
          + "or pass -Drlhf.fixtures=/path/to/shared/fixtures");
    }
    Path dir = Path.of(root, "hf-tiny");
    if (!Files.isDirectory(dir)) {
      fail("fixture directory " + dir + " does not exist (rlhf.fixtures=" + root + ")");
    }
    return dir;
  }

  static JsonNode readJson(Path file) throws IOException {
    return JSON.readTree(file.toFile());
  }

  /** A file made of an 8-byte little-endian length, the header text as given (no padding) and {@code dataBytes} zeros. */
  static Path craft(Path dir, String name, String header, int dataBytes) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    return craftRaw(dir, name, h.length, h, dataBytes);
  }

  /** Like {@link #craft} but with any header length and header bytes. */
  static Path craftRaw(Path dir, String name, long headerLength, byte[] header, int dataBytes) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(headerLength).put(header);
    Path file = dir.resolve(name);
    Files.write(file, b.array());
    return file;
  }

  /** A safetensors tensor entry as compact JSON. */
  static String entry(String dtype, String shape, long begin, long end) {
    return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
  }

  /**
   * Asserts {@code action} throws a one-line {@link CheckpointFormatException} whose message names
   * {@code file} and contains every fragment.
   */
  static CheckpointFormatException assertFormatError(Path file, Executable action, String... fragments) {
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, action);
    String message = e.getMessage();
    assertTrue(message.startsWith(file + ": "), () -> "message does not start with the file: " + message);
    assertFalse(message.contains("\n") || message.contains("\r"), () -> "message is not one line: " + message);
    for (String fragment : fragments) {
      assertTrue(message.contains(fragment), () -> "message lacks '" + fragment + "': " + message);
    }
    return e;
  }

  /** Payloads over a copy of every tensor of {@code file}, in header order. */
  static List<TensorPayload> payloads(SafetensorsFile file) {
    List<TensorPayload> out = new ArrayList<>();
    for (TensorInfo t : file.tensors()) {
      out.add(TensorPayload.of(t.name(), t.dtype(), t.shape(), file.data(t.name())));
    }
    return out;
  }

  /** A payload of random bytes, deterministic in {@code seed}. */
  static TensorPayload randomPayload(String name, DType dtype, long[] shape, long seed) {
    byte[] bytes = new byte[Math.toIntExact(TensorInfo.numel(shape) * dtype.byteSize())];
    new Random(seed).nextBytes(bytes);
    return TensorPayload.of(name, dtype, shape, ByteBuffer.wrap(bytes));
  }

  /** All bytes of a payload, as a writer would receive them. */
  static ByteBuffer bytesOf(TensorPayload p) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    p.writeTo(Channels.newChannel(out));
    return ByteBuffer.wrap(out.toByteArray());
  }
}
