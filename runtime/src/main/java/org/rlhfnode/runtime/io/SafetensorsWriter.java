package org.rlhfnode.runtime.io;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Writes one safetensors file the way the reference implementation lays it out: compact JSON
 * header with {@code __metadata__} first, tensors in the given order with contiguous
 * {@code data_offsets}, header padded with spaces to a multiple of 8 bytes, then the data.
 *
 * <p>The file is replaced atomically (temporary file in the same directory, fsync, rename), so a
 * reader never sees a half-written checkpoint.
 */
public final class SafetensorsWriter {
  /** The metadata key PyTorch loaders look at, and its value for PyTorch tensors. */
  static final String FORMAT_KEY = "format";
  static final String FORMAT_PT = "pt";
  private static final int HEADER_ALIGNMENT = 8;

  private SafetensorsWriter() {}

  /**
   * Writes {@code tensors} and {@code metadata} to {@code file}. The metadata gets
   * {@code "format": "pt"} unless it has a {@code format}; {@code format} is written first and the
   * other keys in sorted order, so that equal inputs give identical files whatever the map type.
   *
   * @throws IllegalArgumentException if two tensors share a name, a name is {@code __metadata__},
   *     or a payload's byte length disagrees with its shape
   * @throws NullPointerException if an argument, a tensor name, or a metadata key or value is null
   * @throws IllegalStateException if a payload writes a different number of bytes than it declared
   * @throws UncheckedIOException if the file cannot be written
   */
  public static void write(Path file, List<? extends TensorPayload> tensors, Map<String, String> metadata) {
    Objects.requireNonNull(file, "file");
    byte[] header = header(tensors, metadata);
    AtomicFiles.write(file, ch -> writeContent(ch, header, tensors));
  }

  private static void writeContent(FileChannel ch, byte[] header, List<? extends TensorPayload> tensors)
      throws IOException {
    ByteBuffer prefix = ByteBuffer.allocate(SafetensorsHeader.LENGTH_PREFIX_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    prefix.putLong(0, header.length);
    AtomicFiles.writeFully(ch, prefix);
    AtomicFiles.writeFully(ch, ByteBuffer.wrap(header));
    CountingChannel out = new CountingChannel(ch);
    for (TensorPayload t : tensors) {
      long before = out.count;
      t.writeTo(out);
      if (out.count - before != t.byteLength()) {
        throw new IllegalStateException("tensor '" + t.name() + "' wrote " + (out.count - before)
            + " bytes but declared " + t.byteLength());
      }
    }
  }

  /** The padded header bytes (without the length prefix) for {@code tensors} laid out back to back. */
  static byte[] header(List<? extends TensorPayload> tensors, Map<String, String> metadata) {
    validate(Objects.requireNonNull(tensors, "tensors"));
    Map<String, String> meta = orderedMetadata(Objects.requireNonNull(metadata, "metadata"));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(bytes)) {
      g.writeStartObject();
      g.writeObjectFieldStart(SafetensorsHeader.METADATA_KEY);
      for (Map.Entry<String, String> e : meta.entrySet()) {
        g.writeStringField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
      writeTensorEntries(g, tensors);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode safetensors header", e);
    }
    int padded = (bytes.size() + HEADER_ALIGNMENT - 1) / HEADER_ALIGNMENT * HEADER_ALIGNMENT;
    while (bytes.size() < padded) {
      bytes.write(' ');
    }
    if (bytes.size() > SafetensorsHeader.MAX_HEADER_BYTES) {
      throw new IllegalArgumentException("header of " + bytes.size() + " bytes exceeds the "
          + SafetensorsHeader.MAX_HEADER_BYTES + "-byte limit readers enforce");
    }
    return bytes.toByteArray();
  }

  private static void writeTensorEntries(JsonGenerator g, List<? extends TensorPayload> tensors) throws IOException {
    long offset = 0;
    for (TensorPayload t : tensors) {
      g.writeObjectFieldStart(t.name());
      g.writeStringField("dtype", t.dtype().safetensorsName());
      g.writeArrayFieldStart("shape");
      for (long dim : t.shape()) {
        g.writeNumber(dim);
      }
      g.writeEndArray();
      g.writeArrayFieldStart("data_offsets");
      g.writeNumber(offset);
      offset = Math.addExact(offset, t.byteLength());
      g.writeNumber(offset);
      g.writeEndArray();
      g.writeEndObject();
    }
  }

  /**
   * Checks what a reader would reject: a null, reserved or repeated name, or a byte length that
   * disagrees with the shape. Run before anything is written, so a bad list leaves no partial file.
   */
  static void validate(List<? extends TensorPayload> tensors) {
    Set<String> names = new HashSet<>();
    for (TensorPayload t : tensors) {
      String name = Objects.requireNonNull(t.name(), "tensor name");
      if (name.equals(SafetensorsHeader.METADATA_KEY)) {
        throw new IllegalArgumentException("'" + name + "' is reserved for metadata, not a tensor name");
      }
      if (!names.add(name)) {
        throw new IllegalArgumentException("tensor name '" + name + "' is used twice");
      }
      long[] shape = t.shape();
      if (Arrays.stream(shape).anyMatch(d -> d < 0)
          || Math.multiplyExact(TensorInfo.numel(shape), (long) t.dtype().byteSize()) != t.byteLength()) {
        throw new IllegalArgumentException("tensor '" + name + "': byteLength " + t.byteLength()
            + " does not match shape " + Arrays.toString(shape) + " of " + t.dtype());
      }
    }
  }

  private static Map<String, String> orderedMetadata(Map<String, String> metadata) {
    Map<String, String> sorted = new TreeMap<>();
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      sorted.put(Objects.requireNonNull(e.getKey(), "metadata key"),
          Objects.requireNonNull(e.getValue(), () -> "metadata value of '" + e.getKey() + "'"));
    }
    Map<String, String> ordered = new LinkedHashMap<>();
    ordered.put(FORMAT_KEY, sorted.getOrDefault(FORMAT_KEY, FORMAT_PT));
    ordered.putAll(sorted);
    return ordered;
  }

  /** Counts what payloads write, and keeps them from closing the file. */
  private static final class CountingChannel implements WritableByteChannel {
    private final WritableByteChannel target;
    private long count;

    CountingChannel(WritableByteChannel target) {
      this.target = target;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      int n = target.write(src);
      count += n;
      return n;
    }

    @Override
    public boolean isOpen() {
      return target.isOpen();
    }

    @Override
    public void close() {
      // The writer owns the file; a payload closing it would lose the rest of the checkpoint.
    }
  }
}
