package org.rlhfnode.runtime.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ModelInit;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/** A model survives model → payload → (bytes moved in pieces) → model bit-exactly, in F32 and BF16. */
class WeightPayloadTest {

  private static CausalLm random(String fixture, ScalarType dtype) {
    return ModelInit.random(ModelConfig.load(Fixtures.hfTiny(fixture)), 5, ModelInit.DEFAULT_STD, dtype,
        DeviceSpec.CPU, false);
  }

  private static void assertBitIdentical(Map<String, Tensor> expected, Map<String, Tensor> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    try (PointerScope scope = new PointerScope()) {
      for (Map.Entry<String, Tensor> e : expected.entrySet()) {
        Tensor a = actual.get(e.getKey());
        assertEquals(e.getValue().scalar_type().intern(), a.scalar_type().intern(), e.getKey());
        Tensor expectedBytes = e.getValue().contiguous().view(-1).view(ScalarType.Byte);
        assertTrue(expectedBytes.equal(a.contiguous().view(-1).view(ScalarType.Byte)), e.getKey() + " differs");
      }
    }
  }

  /** Moves the bytes into a fresh buffer in {@code piece}-byte slices, as a chunked transport does. */
  private static WeightPayload copiedInPieces(WeightPayload p, int piece) {
    PayloadBuffer copy = PayloadBuffer.allocate(p.totalBytes());
    for (long off = 0; off < p.totalBytes(); off += piece) {
      copy.write(off, p.buffer().read(off, (int) Math.min(piece, p.totalBytes() - off)));
    }
    return new WeightPayload(p.version(), copy, p.entries());
  }

  private static void roundTrip(String fixture, ScalarType dtype) {
    try (CausalLm model = random(fixture, dtype);
        WeightPayload payload = WeightPayload.of(3, model);
        WeightPayload moved = copiedInPieces(payload, 1000);
        CausalLm rebuilt = moved.toModel(model.config(), DeviceSpec.CPU, dtype)) {
      assertEquals(3, moved.version());
      assertEquals(model.parameters().size(), moved.entries().size());
      assertBitIdentical(model.parameters(), rebuilt.parameters());
    }
  }

  @Test
  void float32RoundTripIsBitExact() {
    roundTrip("llama", ScalarType.Float);
  }

  @Test
  void bfloat16RoundTripIsBitExact() {
    roundTrip("llama", ScalarType.BFloat16);
  }

  @Test
  void tiedEmbeddingsAndBiasesRoundTrip() {
    roundTrip("qwen2", ScalarType.Float);
  }

  @Test
  void entriesCarryTheModelDtypeAndAlignedOffsets() {
    try (CausalLm model = random("llama", ScalarType.BFloat16); WeightPayload payload = WeightPayload.of(0, model)) {
      for (WeightPayload.Entry e : payload.entries()) {
        assertEquals("BF16", e.dtype(), e.name());
        assertEquals(0, e.offset() % WeightPayload.ALIGNMENT, e.name());
      }
      WeightPayload.Entry last = payload.entries().get(payload.entries().size() - 1);
      assertEquals(last.end(), payload.totalBytes());
    }
  }

  @Test
  void installsInAnotherDtypeLikeAPlainConversion() {
    try (CausalLm model = random("llama", ScalarType.Float);
        WeightPayload payload = WeightPayload.of(1, model);
        PointerScope scope = new PointerScope()) {
      Map<String, Tensor> bf16 = payload.tensors(DeviceSpec.CPU, ScalarType.BFloat16);
      for (Map.Entry<String, Tensor> e : model.parameters().entrySet()) {
        assertTrue(e.getValue().to(ScalarType.BFloat16).equal(bf16.get(e.getKey())), e.getKey());
      }
    }
  }

  @Test
  void readsATensorAtAnOffsetThatIsNotAMultipleOfItsElementSize() {
    java.nio.ByteBuffer floats = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    floats.putFloat(1.5f).putFloat(-2f).flip();
    PayloadBuffer buffer = PayloadBuffer.allocate(10);
    buffer.write(2, floats);
    try (WeightPayload p = new WeightPayload(0, buffer, List.of(new WeightPayload.Entry("w", "F32", new long[] {2}, 2)));
        PointerScope scope = new PointerScope()) {
      float[] values = org.rlhfnode.runtime.tensor.Tensors.toFloats(p.tensors(DeviceSpec.CPU, ScalarType.Float).get("w"));
      assertEquals(1.5f, values[0]);
      assertEquals(-2f, values[1]);
    }
  }

  @Test
  void rejectsLayoutsThatOverlapOrRunPastTheBuffer() {
    long[] shape = {4, 4}; // 64 bytes of F32
    IllegalArgumentException past = assertThrows(IllegalArgumentException.class, () -> new WeightPayload(0,
        PayloadBuffer.allocate(100), List.of(new WeightPayload.Entry("a", "F32", shape, 64))));
    assertTrue(past.getMessage().contains("past the 100-byte payload"), past.getMessage());
    IllegalArgumentException overlap = assertThrows(IllegalArgumentException.class, () -> new WeightPayload(0,
        PayloadBuffer.allocate(256), List.of(new WeightPayload.Entry("a", "F32", shape, 0),
            new WeightPayload.Entry("b", "F32", shape, 32))));
    assertTrue(overlap.getMessage().contains("overlaps"), overlap.getMessage());
  }
}
