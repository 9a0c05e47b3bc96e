package org.rlhfnode.runtime.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Reads every hf-tiny checkpoint and checks it against its expected.json and config.json. */
class HfTinyFixturesTest {
  private static Path dir(String fixture) {
    return IoTestSupport.hfTiny().resolve(fixture);
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "mistral", "mixtral", "llama-bf16", "llama-rope-scaled", "llama3-rope",
      "llama-sharded"})
  void filesAgreeWithExpectedJson(String fixture) throws IOException {
    JsonNode weights = IoTestSupport.readJson(dir(fixture).resolve("expected.json")).get("weights");
    DType stored = DType.fromSafetensors(weights.get("stored_dtype").asText());
    for (JsonNode f : weights.get("files")) {
      Path path = dir(fixture).resolve(f.get("file").asText());
      long headerBytes = f.get("header_bytes").asLong();
      assertEquals(f.get("bytes").asLong(), Files.size(path), path + " size");
      assertEquals(headerBytes, rawHeaderLength(path), path + " header length");
      try (SafetensorsFile file = SafetensorsFile.open(path)) {
        assertEquals(f.get("tensors").asInt(), file.tensors().size(), path + " tensor count");
        assertEquals(Map.of("format", "pt"), file.metadata());
        long dataStart = 8 + headerBytes;
        long packed = 0;
        for (TensorInfo t : file.tensors()) {
          assertEquals(stored, t.dtype(), t.name());
          assertEquals(dataStart + packed, t.byteOffset(), t.name() + " is packed in header order");
          packed += t.byteLength();
        }
        assertEquals(Files.size(path), dataStart + packed, "data section is exactly the tensors");
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "mistral", "mixtral", "llama-bf16", "llama-rope-scaled", "llama3-rope",
      "llama-sharded"})
  void namesAndShapesFollowConfigAndParametersSumUp(String fixture) throws IOException {
    Map<String, long[]> expected = ExpectedTensors.fromConfig(IoTestSupport.readJson(dir(fixture).resolve("config.json")));
    long numParameters = IoTestSupport.readJson(dir(fixture).resolve("expected.json"))
        .get("weights").get("num_parameters").asLong();
    try (CheckpointWeights w = CheckpointWeights.open(dir(fixture))) {
      assertEquals(List.copyOf(expected.keySet()), List.copyOf(w.names()));
      long total = 0;
      for (String name : w.names()) {
        assertArrayEquals(expected.get(name), w.info(name).shape(), name);
        total += w.info(name).numel();
      }
      assertEquals(numParameters, total);
    }
  }

  @Test
  void shardedCheckpointIsByteIdenticalToSingleFile() throws IOException {
    JsonNode weightMap = IoTestSupport.readJson(dir("llama-sharded").resolve("model.safetensors.index.json"))
        .get("weight_map");
    try (CheckpointWeights sharded = CheckpointWeights.open(dir("llama-sharded"));
        SafetensorsFile single = SafetensorsFile.open(dir("llama").resolve("model.safetensors"))) {
      assertEquals(single.tensors().size(), sharded.names().size());
      for (TensorInfo t : single.tensors()) {
        TensorInfo s = sharded.info(t.name());
        assertEquals(t.dtype(), s.dtype(), t.name());
        assertArrayEquals(t.shape(), s.shape(), t.name());
        assertEquals(single.data(t.name()), sharded.data(t.name()), t.name());
        assertEquals(weightMap.get(t.name()).asText(), sharded.fileOf(t.name()).getFileName().toString());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "llama-sharded", "mixtral"})
  void copyToDirectBufferMatchesData(String fixture) {
    try (CheckpointWeights w = CheckpointWeights.open(dir(fixture))) {
      long total = w.names().stream().mapToLong(n -> w.info(n).byteLength()).sum();
      ByteBuffer all = ByteBuffer.allocateDirect(Math.toIntExact(total));
      List<String> names = new ArrayList<>(w.names());
      for (String name : names) {
        int before = all.position();
        w.copyTo(name, all);
        assertEquals(before + w.info(name).byteLength(), all.position(), name + " advances the position");
        assertEquals(w.data(name), all.slice(before, all.position() - before), name);
      }
      assertEquals(all.limit(), all.position());
    }
  }

  /** The bf16 fixture is llama rounded to nearest-even bf16; reading it right needs little-endian views. */
  @Test
  void bf16WeightsAreTheLlamaWeightsRoundedToNearestEven() {
    try (CheckpointWeights f32 = CheckpointWeights.open(dir("llama"));
        CheckpointWeights bf16 = CheckpointWeights.open(dir("llama-bf16"))) {
      assertEquals(f32.names(), bf16.names());
      for (String name : f32.names()) {
        FloatBuffer wide = f32.data(name).asFloatBuffer();
        ShortBuffer narrow = bf16.data(name).asShortBuffer();
        assertEquals(wide.remaining(), narrow.remaining(), name);
        for (int i = 0; i < wide.remaining(); i++) {
          assertEquals(roundToBf16(wide.get(i)), narrow.get(i), () -> name + " element mismatch");
        }
      }
    }
  }

  @Test
  void dataViewsAreReadOnlyLittleEndianAndPlausible() {
    try (CheckpointWeights w = CheckpointWeights.open(dir("llama"))) {
      ByteBuffer norm = w.data("model.norm.weight");
      assertTrue(norm.isReadOnly());
      assertEquals(ByteOrder.LITTLE_ENDIAN, norm.order());
      assertEquals(0, norm.position());
      assertEquals(64 * 4, norm.limit());
      // RMSNorm weights were drawn as 1 + N(0, 0.1^2); a big-endian read would give garbage far from 1.
      FloatBuffer values = norm.asFloatBuffer();
      for (int i = 0; i < values.remaining(); i++) {
        assertTrue(Math.abs(values.get(i) - 1f) < 0.6f, "norm weight " + values.get(i));
      }
    }
  }

  private static short roundToBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
    return (short) (rounded >>> 16);
  }

  private static long rawHeaderLength(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file)) {
      ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      ch.read(b, 0);
      return b.getLong(0);
    }
  }
}
