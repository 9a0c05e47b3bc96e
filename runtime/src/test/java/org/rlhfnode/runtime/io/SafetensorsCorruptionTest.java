package org.rlhfnode.runtime.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.rlhfnode.runtime.io.IoTestSupport.craft;
import static org.rlhfnode.runtime.io.IoTestSupport.entry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each way a safetensors file can be malformed gives a one-line error naming the file and the tensor. */
class SafetensorsCorruptionTest {
  @TempDir Path tmp;

  private static void assertRejected(Path file, String... fragments) {
    IoTestSupport.assertFormatError(file, () -> SafetensorsFile.open(file).close(), fragments);
  }

  private Path withTensor(String name, String tensorEntry, int dataBytes) throws IOException {
    return craft(tmp, "bad.safetensors", "{\"w\":" + tensorEntry + "}", dataBytes);
  }

  @Test
  void rejectsFileShorterThanTheLengthPrefix() throws IOException {
    Path file = Files.write(tmp.resolve("tiny.safetensors"), new byte[5]);
    assertRejected(file, "5 bytes", "shorter than the 8-byte header length");
  }

  @Test
  void rejectsHeaderLengthBeyondTheFile() throws IOException {
    byte[] header = "{}".getBytes(StandardCharsets.UTF_8);
    assertRejected(IoTestSupport.craftRaw(tmp, "long.safetensors", 1000, header, 16), "header length 1000",
        "larger than the 18 bytes");
  }

  @Test
  void rejectsAbsurdHeaderLengths() throws IOException {
    byte[] header = "{}".getBytes(StandardCharsets.UTF_8);
    assertRejected(IoTestSupport.craftRaw(tmp, "huge.safetensors", 200L << 20, header, 0), "absurd");
    assertRejected(IoTestSupport.craftRaw(tmp, "neg.safetensors", -1L, header, 0), "18446744073709551615", "absurd");
  }

  @Test
  void rejectsHeaderThatIsNotUtf8() throws IOException {
    byte[] header = "{\"w\u00C3(\":{}}".getBytes(StandardCharsets.ISO_8859_1);
    assertRejected(IoTestSupport.craftRaw(tmp, "latin.safetensors", header.length, header, 0), "not valid UTF-8",
        "header byte 3");
  }

  @Test
  void rejectsHeaderThatIsNotJson() throws IOException {
    assertRejected(craft(tmp, "junk.safetensors", "{\"w\": nope}", 0), "header is not valid JSON", "line 1");
    assertRejected(craft(tmp, "cut.safetensors", "{\"w\":" + entry("F32", "[1]", 0, 4), 4), "not valid JSON");
    assertRejected(craft(tmp, "empty.safetensors", "", 4), "not a JSON object");
  }

  @Test
  void rejectsHeaderThatIsNotAnObject() throws IOException {
    assertRejected(craft(tmp, "array.safetensors", "[1, 2]", 0), "header is not a JSON object");
    assertRejected(craft(tmp, "two.safetensors", "{} {}", 0), "unexpected content after");
    assertRejected(withTensor("w", "[0, 4]", 4), "tensor 'w' is not a JSON object");
  }

  @ParameterizedTest
  @ValueSource(strings = {"dtype", "shape", "data_offsets"})
  void rejectsTensorEntryMissingAKey(String key) throws IOException {
    String full = entry("F32", "[2]", 0, 8);
    String without = full.replaceFirst("\"" + key + "\":(\"F32\"|\\[[0-9,]*]),?", "").replace(",}", "}");
    assertEquals(2, without.chars().filter(c -> c == ':').count(), without);
    assertRejected(withTensor("w", without, 8), "tensor 'w'", "missing \"" + key + "\"");
  }

  @Test
  void rejectsTensorEntryWithWrongTypes() throws IOException {
    assertRejected(withTensor("w", "{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}", 8),
        "tensor 'w'", "\"dtype\" is not a string");
    assertRejected(withTensor("w", "{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}", 8),
        "tensor 'w'", "\"shape\" is not an array of integers");
    assertRejected(withTensor("w", entry("F32", "[2.0]", 0, 8), 8), "tensor 'w'", "\"shape\" is not an array");
    assertRejected(withTensor("w", entry("F32", "[99999999999999999999]", 0, 8), 8), "\"shape\" is not an array");
    assertRejected(withTensor("w", "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}", 8),
        "tensor 'w'", "\"data_offsets\" is not an array of 2 integers");
    assertRejected(withTensor("w", "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\"0\",\"8\"]}", 8),
        "tensor 'w'", "\"data_offsets\" is not an array of 2 integers");
  }

  @Test
  void rejectsUnknownDtypeListingTheSupportedOnes() throws IOException {
    assertRejected(withTensor("w", entry("F8_E4M3", "[2]", 0, 2), 2), "tensor 'w'", "unknown dtype 'F8_E4M3'",
        "supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL");
    assertRejected(withTensor("w", entry("f32", "[2]", 0, 8), 8), "unknown dtype 'f32'");
  }

  @Test
  void rejectsNegativeDimensions() throws IOException {
    assertRejected(withTensor("w", entry("F32", "[-1,4]", 0, 16), 16), "tensor 'w'", "negative dimension",
        "[-1, 4]");
  }

  @Test
  void rejectsOffsetsOutsideTheDataSection() throws IOException {
    assertRejected(withTensor("w", entry("F32", "[1]", 8, 4), 8), "tensor 'w'", "[8, 4]", "<= 8 (the data size)");
    assertRejected(withTensor("w", entry("F32", "[2]", 4, 12), 8), "tensor 'w'", "[4, 12]");
    assertRejected(withTensor("w", entry("F32", "[1]", -4, 0), 8), "tensor 'w'", "[-4, 0]");
  }

  @Test
  void rejectsByteCountThatDisagreesWithShapeAndDtype() throws IOException {
    assertRejected(withTensor("w", entry("F32", "[2,2]", 0, 12), 16), "tensor 'w'", "span 12 bytes", "needs 16");
    assertRejected(withTensor("w", entry("F32", "[4294967296,4294967296,4]", 0, 16), 16), "tensor 'w'", "overflows");
  }

  @Test
  void rejectsOverlappingTensors() throws IOException {
    String header = "{\"a\":" + entry("F32", "[4]", 0, 16) + ",\"b\":" + entry("F32", "[4]", 8, 24) + "}";
    assertRejected(craft(tmp, "overlap.safetensors", header, 24), "tensors 'a' and 'b' overlap");
  }

  @Test
  void acceptsEmptyTensorsAnywhereAndGapsBetweenTensors() throws IOException {
    String header = "{\"a\":" + entry("F32", "[4]", 0, 16) + ",\"e\":" + entry("F32", "[0,3]", 8, 8)
        + ",\"b\":" + entry("U8", "[4]", 20, 24) + "}";
    try (SafetensorsFile file = SafetensorsFile.open(craft(tmp, "gaps.safetensors", header, 24))) {
      assertEquals(List.of("a", "e", "b"), file.tensors().stream().map(TensorInfo::name).toList());
      assertEquals(Map.of(), file.metadata());
    }
  }

  @Test
  void rejectsDuplicateTensorNamesAndDuplicateKeys() throws IOException {
    String twice = "{\"w\":" + entry("F32", "[1]", 0, 4) + ",\"w\":" + entry("F32", "[1]", 4, 8) + "}";
    assertRejected(craft(tmp, "dup.safetensors", twice, 8), "duplicate tensor name 'w'");
    String dtypeTwice = "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    assertRejected(craft(tmp, "dupkey.safetensors", dtypeTwice, 4), "tensor 'w'", "duplicate key 'dtype'");
  }

  @Test
  void rejectsMetadataThatIsNotAMapOfStrings() throws IOException {
    String number = "{\"__metadata__\":{\"format\":\"pt\",\"step\":3},\"w\":" + entry("U8", "[1]", 0, 1) + "}";
    assertRejected(craft(tmp, "meta.safetensors", number, 1), "__metadata__ value for key 'step' is not a string");
    assertRejected(craft(tmp, "meta2.safetensors", "{\"__metadata__\":\"pt\"}", 0), "__metadata__ is not a JSON object");
    try (SafetensorsFile file = SafetensorsFile.open(craft(tmp, "null.safetensors", "{\"__metadata__\":null}", 0))) {
      assertEquals(Map.of(), file.metadata());
    }
  }

  @Test
  void messageStaysOneLineWhenTheTensorNameHasLineBreaks() throws IOException {
    assertRejected(craft(tmp, "nl.safetensors", "{\"a\\nb\":" + entry("F32", "[2]", 0, 4) + "}", 4), "tensor 'a b'");
  }
}
