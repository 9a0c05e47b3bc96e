package org.rlhfnode.messages;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/** Checksums, splitting and reassembly of weight chunks through the real serializer. */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WeightChunkTest {
  /** u16 version, i64 version, i32 index, i32 total, i64 offset, i64 totalBytes: where the CRC starts. */
  private static final int CHECKSUM_AT = 2 + 8 + 4 + 4 + 8 + 8;

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("WeightChunkTest")
      .withCustomConfig(TestSystems.serializationConfig()).build();

  private Serialization serialization() {
    return SerializationExtension.get(kit.system());
  }

  private ActorRef<WeightChunkAck> acks() {
    return kit.<WeightChunkAck>createTestProbe().getRef();
  }

  private WeightChunk deserialize(byte[] bytes) {
    return (WeightChunk) serialization().deserialize(bytes, TensorSerializer.IDENTIFIER, "WeightChunk").get();
  }

  @Test
  void intactChunkIsAccepted() {
    WeightChunk chunk = WeightChunk.of(5, 0, 1, 0, 1000, Samples.pattern(1000), acks());
    WeightChunk back = deserialize(serialization().serialize(chunk).get());
    assertTrue(back.checksumMatches());
    assertEquals(new WeightChunkAck(5, 0, "rollout-1", WeightChunkAck.Status.ACCEPTED), back.verify("rollout-1"));
  }

  @Test
  void chunkCorruptedInTransitFailsItsChecksum() {
    WeightChunk chunk = WeightChunk.of(5, 2, 4, 3000, 4000, Samples.pattern(1000), acks());
    byte[] bytes = serialization().serialize(chunk).get();
    bytes[bytes.length - 500] ^= 0x10;
    WeightChunk back = deserialize(bytes);
    assertFalse(back.checksumMatches());
    WeightChunkAck ack = back.verify("rollout-1");
    assertEquals(WeightChunkAck.Status.CHECKSUM_MISMATCH, ack.status());
    assertEquals(2, ack.index());
    assertFalse(ack.accepted());
  }

  @Test
  void chunkWithACorruptedChecksumFieldFailsToo() {
    WeightChunk chunk = WeightChunk.of(5, 0, 1, 0, 64, Samples.pattern(64), acks());
    byte[] bytes = serialization().serialize(chunk).get();
    bytes[CHECKSUM_AT] ^= 0x01;
    assertFalse(deserialize(bytes).checksumMatches());
  }

  @Test
  void splitChunksReassembleInAnyArrivalOrder() {
    FrameGuard guard = new FrameGuard("test", 16 * 1024, 1024, 1024);
    byte[] weights = new byte[3 * guard.maxChunkPayloadBytes() + 17];
    new Random(7).nextBytes(weights);
    List<WeightChunk> chunks = WeightChunk.split(9, ByteBuffer.wrap(weights), guard, acks());
    assertEquals(4, chunks.size());
    List<WeightChunk> arrived = new ArrayList<>();
    for (WeightChunk c : chunks) {
      guard.check(c, serialization());
      arrived.add(deserialize(serialization().serialize(c).get()));
    }
    Collections.shuffle(arrived, new Random(3));
    byte[] staged = new byte[weights.length];
    for (WeightChunk c : arrived) {
      assertTrue(c.checksumMatches());
      assertEquals(9, c.version());
      assertEquals(4, c.total());
      assertEquals(weights.length, c.totalBytes());
      c.bytes().get(staged, (int) c.offset(), c.byteCount());
    }
    assertArrayEquals(weights, staged);
  }

  @Test
  void splitLeavesThePayloadUntouchedAndCopiesIt() {
    FrameGuard guard = new FrameGuard("test", 4096, 1024, 1024);
    ByteBuffer payload = Samples.pattern(5000);
    List<WeightChunk> chunks = WeightChunk.split(1, payload, guard, acks());
    assertEquals(0, payload.position());
    payload.put(0, (byte) 99);
    assertEquals(0, chunks.get(0).bytes().get(0));
    assertTrue(chunks.get(0).checksumMatches());
  }

  @Test
  void rejectsInconsistentPositions() {
    ActorRef<WeightChunkAck> to = acks();
    ByteBuffer ten = Samples.pattern(10);
    IllegalArgumentException index = assertThrows(IllegalArgumentException.class,
        () -> WeightChunk.of(1, 3, 3, 0, 10, ten, to));
    assertEquals("WeightChunk.index 3 is outside [0, 3)", index.getMessage());
    IllegalArgumentException past = assertThrows(IllegalArgumentException.class,
        () -> WeightChunk.of(1, 0, 1, 5, 10, ten, to));
    assertEquals("WeightChunk 0: bytes [5, 15) run past totalBytes 10", past.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new WeightChunk(1, 0, 1, 0, 10, 1L << 32, ten, to));
  }
}
