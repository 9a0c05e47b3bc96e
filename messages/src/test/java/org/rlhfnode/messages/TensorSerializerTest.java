package org.rlhfnode.messages;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.NotSerializableException;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/** Byte-exactness of tensors through the real serializer, its binary layout, and its handling of bad input. */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TensorSerializerTest {

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("TensorSerializerTest")
      .withCustomConfig(TestSystems.serializationConfig()).build();

  private Serialization serialization() {
    return SerializationExtension.get(kit.system());
  }

  private TensorSerializer serializer() {
    return (TensorSerializer) serialization().findSerializerFor(batchOf("x", WireTensor.ofFloats(new long[] {1}, 1f)));
  }

  private <T> T roundTrip(T message) {
    byte[] bytes = serialization().serialize(message).get();
    @SuppressWarnings("unchecked")
    T back = (T) serialization().deserialize(bytes, TensorSerializer.IDENTIFIER, serializer().manifest(message)).get();
    return back;
  }

  private static ExperienceBatch batchOf(String name, WireTensor t) {
    return new ExperienceBatch(Samples.BATCH, 0, 0, TensorMap.of(TensorNames.SEQUENCES, WireTensor.ofLongs(new long[] {1}, 1))
        .with(name, t));
  }

  @Test
  void keepsBf16RawBitsExactly() {
    short[] bits = Samples.bf16Pattern(64);
    WireTensor t = WireTensor.ofBf16Bits(new long[] {1, 64}, bits);
    WireTensor back = roundTrip(batchOf("w", t)).tensors().require("w");
    assertEquals("BF16", back.dtype());
    assertArrayEquals(t.toByteArray(), back.toByteArray());
    short[] got = new short[64];
    back.data().asShortBuffer().get(got);
    assertArrayEquals(bits, got, "quiet and signalling NaN, -0, inf and subnormal bits survive");
  }

  @Test
  void keepsNanPayloadBitsOfF32Exactly() {
    int[] nanBits = {0x7FC00000, 0x7FC00001, 0x7F800001, 0xFFC12345, 0xFFFFFFFF, 0x80000000};
    ByteBuffer raw = ByteBuffer.allocate(4 * nanBits.length).order(ByteOrder.LITTLE_ENDIAN);
    Arrays.stream(nanBits).forEach(raw::putInt);
    WireTensor t = new WireTensor("F32", new long[] {1, nanBits.length}, raw.flip());
    WireTensor back = roundTrip(batchOf("lp", t)).tensors().require("lp");
    int[] got = new int[nanBits.length];
    back.data().asIntBuffer().get(got);
    assertArrayEquals(nanBits, got);
  }

  @Test
  void writesTheDocumentedLittleEndianLayout() {
    WireTensor t = WireTensor.ofFloats(new long[] {1, 2}, 1f, -2f);
    ExperienceBatch m = new ExperienceBatch(Samples.BATCH, 7, 3, TensorMap.of(TensorNames.SEQUENCES, t));
    ByteBuffer b = ByteBuffer.wrap(serialization().serialize(m).get()).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(TensorSerializer.FORMAT_VERSION, b.getShort());
    assertEquals(1, b.getLong(), "batchId.lineage");
    assertEquals(7, b.getInt(), "batchId.iteration");
    byte[] kind = new byte[b.getInt()];
    b.get(kind);
    assertEquals("BATCH", new String(kind, StandardCharsets.UTF_8));
    assertEquals(0, b.getInt(), "batchId.part");
    assertEquals(7, b.getLong());
    assertEquals(3, b.getLong());
    assertEquals(1, b.getInt(), "one tensor");
    byte[] name = new byte[b.getInt()];
    b.get(name);
    assertEquals(TensorNames.SEQUENCES, new String(name, StandardCharsets.UTF_8));
    assertEquals(WireDType.F32.wireCode(), b.get());
    assertEquals(2, b.get(), "rank");
    assertEquals(1, b.getLong());
    assertEquals(2, b.getLong());
    assertEquals(1f, b.getFloat());
    assertEquals(-2f, b.getFloat());
    assertEquals(0, b.remaining());
  }

  @Test
  void rejectsTruncatedPayloadsNamingTheField() {
    ExperienceBatch m = batchOf("x", WireTensor.ofFloats(new long[] {1, 4}, 1f, 2f, 3f, 4f));
    byte[] bytes = serialization().serialize(m).get();
    byte[] cut = Arrays.copyOf(bytes, bytes.length - 3);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> serializer().fromBinary(cut, "ExperienceBatch"));
    assertEquals("ExperienceBatch: truncated or corrupt payload: tensors 'x' data needs 16 bytes, 13 left",
        e.getMessage());
    byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
    assertThrows(IllegalArgumentException.class, () -> serializer().fromBinary(longer, "ExperienceBatch"));
  }

  @Test
  void rejectsUnknownManifestsAndFormatVersions() {
    byte[] bytes = serialization().serialize(batchOf("x", WireTensor.ofFloats(new long[] {1}, 1f))).get();
    assertThrows(NotSerializableException.class, () -> serializer().fromBinary(bytes, "Nope"));
    bytes[0] = 9;
    NotSerializableException e = assertThrows(NotSerializableException.class,
        () -> serializer().fromBinary(bytes, "ExperienceBatch"));
    assertEquals("ExperienceBatch: format version 9, this build reads 2", e.getMessage());
  }

  @Test
  void failsBeforeWritingWhenTheEnvelopeBufferIsTooSmall() {
    ExperienceBatch m = batchOf("x", WireTensor.ofFloats(new long[] {1, 100}, new float[100]));
    long size = serializer().serializedSize(m);
    ByteBuffer envelope = ByteBuffer.allocate((int) size - 1);
    BufferOverflowException e = assertThrows(BufferOverflowException.class, () -> serializer().toBinary(m, envelope));
    assertTrue(e instanceof FrameTooLargeException);
    assertEquals("ExperienceBatch is " + size + " bytes serialized, over the " + (size - 1)
        + "-byte limit of the Artery envelope buffer by 1 bytes", e.getMessage());
    assertEquals(0, envelope.position(), "nothing written");
    ByteBuffer exact = ByteBuffer.allocate((int) size);
    serializer().toBinary(m, exact);
    assertEquals(size, exact.position());
  }

  @Test
  void refusesObjectsItHasNoCodecFor() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> serializer().toBinary(new WeightVersionInstalled(1, "r", 0)));
    assertTrue(e.getMessage().startsWith("TensorSerializer cannot serialize org.rlhfnode.messages.WeightVersionInstalled"),
        e.getMessage());
  }
}
