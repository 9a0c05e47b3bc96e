package org.rlhfnode.runtime.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parsed and validated header of one safetensors file: metadata, tensors in header order, and
 * where the data section starts. Every way a header can be wrong becomes a one-line
 * {@link CheckpointFormatException}.
 */
record SafetensorsHeader(long dataStart, Map<String, String> metadata, List<TensorInfo> tensors) {
  /** Same bound as the reference implementation: no real header comes near it, a corrupt length does. */
  static final long MAX_HEADER_BYTES = 100L << 20;
  static final String METADATA_KEY = "__metadata__";
  static final int LENGTH_PREFIX_BYTES = 8;

  /** Reads the length prefix and the header of {@code file} through {@code ch}. */
  static SafetensorsHeader read(Path file, FileChannel ch) throws IOException {
    long fileSize = ch.size();
    if (fileSize < LENGTH_PREFIX_BYTES) {
      throw new CheckpointFormatException(file,
          "file is " + fileSize + " bytes, shorter than the 8-byte header length");
    }
    ByteBuffer prefix = ByteBuffer.allocate(LENGTH_PREFIX_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    readFully(ch, prefix, 0);
    long n = prefix.getLong(0);
    if (n < 0 || n > MAX_HEADER_BYTES) {
      throw new CheckpointFormatException(file, "header length " + Long.toUnsignedString(n)
          + " is absurd (limit " + MAX_HEADER_BYTES + " bytes)");
    }
    if (n > fileSize - LENGTH_PREFIX_BYTES) {
      throw new CheckpointFormatException(file, "header length " + n + " is larger than the "
          + (fileSize - LENGTH_PREFIX_BYTES) + " bytes after the length prefix");
    }
    ByteBuffer header = ByteBuffer.allocate((int) n);
    readFully(ch, header, LENGTH_PREFIX_BYTES);
    long dataStart = LENGTH_PREFIX_BYTES + n;
    return parse(file, header.array(), dataStart, fileSize - dataStart);
  }

  private static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
    while (dst.hasRemaining()) {
      if (ch.read(dst, position + dst.position()) < 0) {
        throw new EOFException("file shrank while reading its header");
      }
    }
  }

  /** Parses header bytes whose data section starts at {@code dataStart} and has {@code dataSize} bytes. */
  static SafetensorsHeader parse(Path file, byte[] header, long dataStart, long dataSize) {
    String text = decodeUtf8(file, header);
    Map<String, String> metadata = Map.of();
    List<TensorInfo> tensors = new ArrayList<>();
    try (JsonParser jp = Json.MAPPER.createParser(text)) {
      // Duplicates are found below, per object, so that the message can name the tensor.
      jp.disable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
      if (jp.nextToken() != JsonToken.START_OBJECT) {
        throw new CheckpointFormatException(file, "header is not a JSON object");
      }
      Map<String, Map<String, JsonNode>> entries = readEntries(file, jp);
      if (jp.nextToken() != null) {
        throw new CheckpointFormatException(file, "unexpected content after the header's JSON object");
      }
      for (Map.Entry<String, Map<String, JsonNode>> e : entries.entrySet()) {
        if (e.getKey().equals(METADATA_KEY)) {
          metadata = metadata(file, e.getValue());
        } else {
          tensors.add(tensor(file, e.getKey(), e.getValue(), dataStart, dataSize));
        }
      }
    } catch (JsonProcessingException e) {
      throw new CheckpointFormatException(file, "header is not valid JSON: " + Json.describe(e), e);
    } catch (IOException e) {
      throw new CheckpointFormatException(file, "cannot parse header: " + e.getMessage(), e);
    }
    checkNoOverlap(file, tensors);
    return new SafetensorsHeader(dataStart, Collections.unmodifiableMap(metadata), List.copyOf(tensors));
  }

  /** Decodes strictly up front, so a bad byte anywhere gets one clear message and not a parser-specific one. */
  private static String decodeUtf8(Path file, byte[] header) {
    ByteBuffer in = ByteBuffer.wrap(header);
    try {
      CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(in);
      return chars.toString();
    } catch (CharacterCodingException e) {
      // The decoder stops at the first bad sequence; its offset helps find it in a hex dump.
      throw new CheckpointFormatException(file, "header is not valid UTF-8 (bad bytes near header byte "
          + in.position() + ")", e);
    }
  }

  /** The top-level members in order; {@code __metadata__: null} counts as no metadata. */
  private static Map<String, Map<String, JsonNode>> readEntries(Path file, JsonParser jp) throws IOException {
    Map<String, Map<String, JsonNode>> entries = new LinkedHashMap<>();
    while (jp.nextToken() == JsonToken.FIELD_NAME) {
      String key = jp.currentName();
      boolean isMetadata = key.equals(METADATA_KEY);
      String what = isMetadata ? METADATA_KEY : "tensor '" + key + "'";
      if (entries.containsKey(key)) {
        throw new CheckpointFormatException(file, isMetadata ? "duplicate " + METADATA_KEY
            : "duplicate tensor name '" + key + "'");
      }
      JsonToken token = jp.nextToken();
      if (token == JsonToken.START_OBJECT) {
        entries.put(key, readObject(file, jp, what));
      } else if (isMetadata && token == JsonToken.VALUE_NULL) {
        entries.put(key, Map.of());
      } else {
        throw new CheckpointFormatException(file, what + " is not a JSON object");
      }
    }
    return entries;
  }

  /** One object's members, the parser being on its START_OBJECT; a repeated key is an error. */
  private static Map<String, JsonNode> readObject(Path file, JsonParser jp, String what) throws IOException {
    Map<String, JsonNode> members = new LinkedHashMap<>();
    while (jp.nextToken() == JsonToken.FIELD_NAME) {
      String key = jp.currentName();
      jp.nextToken();
      if (members.put(key, jp.readValueAsTree()) != null) {
        throw new CheckpointFormatException(file, what + ": duplicate key '" + key + "'");
      }
    }
    return members;
  }

  private static Map<String, String> metadata(Path file, Map<String, JsonNode> members) {
    Map<String, String> metadata = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : members.entrySet()) {
      if (!e.getValue().isTextual()) {
        throw new CheckpointFormatException(file, METADATA_KEY + " value for key '" + e.getKey()
            + "' is not a string but " + e.getValue().getNodeType());
      }
      metadata.put(e.getKey(), e.getValue().textValue());
    }
    return metadata;
  }

  private static TensorInfo tensor(Path file, String name, Map<String, JsonNode> entry, long dataStart,
      long dataSize) {
    String what = "tensor '" + name + "'";
    DType dtype = dtype(file, what, required(file, what, entry, "dtype"));
    long[] shape = longs(file, what, "shape", required(file, what, entry, "shape"), -1);
    long[] offsets = longs(file, what, "data_offsets", required(file, what, entry, "data_offsets"), 2);
    for (long dim : shape) {
      if (dim < 0) {
        throw new CheckpointFormatException(file, what + ": negative dimension in shape " + Arrays.toString(shape));
      }
    }
    long begin = offsets[0];
    long end = offsets[1];
    if (begin < 0 || begin > end || end > dataSize) {
      throw new CheckpointFormatException(file, what + ": data_offsets " + Arrays.toString(offsets)
          + " are not within 0 <= begin <= end <= " + dataSize + " (the data size)");
    }
    long expected;
    try {
      expected = Math.multiplyExact(TensorInfo.numel(shape), (long) dtype.byteSize());
    } catch (ArithmeticException e) {
      throw new CheckpointFormatException(file, what + ": shape " + Arrays.toString(shape) + " overflows a long", e);
    }
    if (end - begin != expected) {
      throw new CheckpointFormatException(file, what + ": data_offsets " + Arrays.toString(offsets) + " span "
          + (end - begin) + " bytes but shape " + Arrays.toString(shape) + " of " + dtype + " needs " + expected);
    }
    return new TensorInfo(name, dtype, shape, dataStart + begin, expected);
  }

  private static JsonNode required(Path file, String what, Map<String, JsonNode> entry, String key) {
    JsonNode node = entry.get(key);
    if (node == null) {
      throw new CheckpointFormatException(file, what + ": missing \"" + key + "\"");
    }
    return node;
  }

  private static DType dtype(Path file, String what, JsonNode node) {
    if (!node.isTextual()) {
      throw new CheckpointFormatException(file, what + ": \"dtype\" is not a string but " + node.getNodeType());
    }
    try {
      return DType.fromSafetensors(node.textValue());
    } catch (IllegalArgumentException e) {
      throw new CheckpointFormatException(file, what + ": " + e.getMessage(), e);
    }
  }

  /** An array of integers that fit a long, of exactly {@code length} elements unless it is negative. */
  private static long[] longs(Path file, String what, String key, JsonNode node, int length) {
    String expected = length < 0 ? "an array of integers" : "an array of " + length + " integers";
    if (!node.isArray() || (length >= 0 && node.size() != length)) {
      throw new CheckpointFormatException(file, what + ": \"" + key + "\" is not " + expected + ": " + node);
    }
    long[] values = new long[node.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode v = node.get(i);
      if (!v.isIntegralNumber() || !v.canConvertToLong()) {
        throw new CheckpointFormatException(file, what + ": \"" + key + "\" is not " + expected + ": " + node);
      }
      values[i] = v.longValue();
    }
    return values;
  }

  /** Empty tensors occupy no bytes, so they cannot overlap anything wherever their offsets point. */
  private static void checkNoOverlap(Path file, List<TensorInfo> tensors) {
    List<TensorInfo> byOffset = new ArrayList<>();
    for (TensorInfo t : tensors) {
      if (t.byteLength() > 0) {
        byOffset.add(t);
      }
    }
    byOffset.sort(Comparator.comparingLong(TensorInfo::byteOffset));
    for (int i = 1; i < byOffset.size(); i++) {
      TensorInfo prev = byOffset.get(i - 1);
      TensorInfo next = byOffset.get(i);
      if (next.byteOffset() < prev.byteOffset() + prev.byteLength()) {
        throw new CheckpointFormatException(file, "tensors '" + prev.name() + "' and '" + next.name()
            + "' overlap in the data section");
      }
    }
  }
}
