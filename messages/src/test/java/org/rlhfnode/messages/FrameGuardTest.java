package org.rlhfnode.messages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/** Chunk boundaries, config reading and size checks of {@link FrameGuard}. */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FrameGuardTest {
  private static final FrameGuard SMALL = new FrameGuard("test lane", 10_000, 1_000, 1_000);

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("FrameGuardTest")
      .withCustomConfig(TestSystems.serializationConfig()).build();

  private Serialization serialization() {
    return SerializationExtension.get(kit.system());
  }

  private static List<Integer> sizes(int payload) {
    return SMALL.split(Samples.pattern(payload)).stream().map(ByteBuffer::remaining).toList();
  }

  @Test
  void splitsAtExactChunkBoundaries() {
    assertEquals(8_000, SMALL.maxChunkPayloadBytes());
    assertEquals(List.of(0), sizes(0));
    assertEquals(List.of(1), sizes(1));
    assertEquals(List.of(8_000), sizes(8_000));
    assertEquals(List.of(8_000, 1), sizes(8_001));
    assertEquals(List.of(8_000, 8_000), sizes(16_000));
    assertEquals(List.of(8_000, 8_000, 1), sizes(16_001));
    for (int n : new int[] {0, 1, 7_999, 8_000, 8_001, 23_999, 24_000, 24_001}) {
      assertEquals(sizes(n).size(), SMALL.chunkCount(n), "chunkCount(" + n + ")");
    }
  }

  @Test
  void splitSlicesAreContiguousReadOnlyAndInOrder() {
    ByteBuffer payload = Samples.pattern(20_000);
    payload.position(3);
    List<ByteBuffer> parts = SMALL.split(payload);
    assertEquals(3, payload.position());
    int expected = 3;
    for (ByteBuffer p : parts) {
      assertEquals(true, p.isReadOnly());
      while (p.hasRemaining()) {
        assertEquals((byte) (expected++ % 251), p.get());
      }
    }
    assertEquals(20_000, expected);
  }

  @Test
  void readsArteryFrameSizesAndHeadroomFromConfig() {
    FrameGuard ordinary = FrameGuard.ordinaryLane(ConfigFactory.load());
    assertEquals(FrameGuard.ARTERY_DEFAULT_FRAME_BYTES, ordinary.maxFrameBytes());
    assertEquals(256 * 1024 - 4096, ordinary.maxMessageBytes());
    assertEquals(256 * 1024 - 8192, ordinary.maxChunkPayloadBytes());
    assertEquals(2 * 1024 * 1024, FrameGuard.largeLane(ConfigFactory.load()).maxFrameBytes());
    FrameGuard raised = FrameGuard.largeLane(ConfigFactory.parseString("""
        pekko.remote.artery.advanced.maximum-large-frame-size = 4 MiB
        rlhf.messages.frame_guard.envelope_headroom = 1 KiB
        """).withFallback(ConfigFactory.load()));
    assertEquals(4 * 1024 * 1024 - 1024, raised.maxMessageBytes());
  }

  @Test
  void fallsBackToArteryDefaultsWithoutAnArterySection() {
    com.typesafe.config.Config bare = ConfigFactory.parseString("""
        rlhf.messages.frame_guard { envelope_headroom = 100, chunk_header_reserve = 200 }
        """);
    assertEquals(256 * 1024 - 100, FrameGuard.ordinaryLane(bare).maxMessageBytes());
    assertEquals(2 * 1024 * 1024 - 300, FrameGuard.largeLane(bare).maxChunkPayloadBytes());
  }

  @Test
  void failsOnOneLineNamingTypeAndSizes() {
    assertEquals(9_000, SMALL.check("ExperienceBatch", 9_000));
    FrameTooLargeException e = assertThrows(FrameTooLargeException.class, () -> SMALL.check("ExperienceBatch", 9_001));
    assertEquals("ExperienceBatch is 9001 bytes serialized, over the 9000-byte limit of the Artery test lane"
        + " (10000-byte frame minus 1000 headroom) by 1 bytes", e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }

  @Test
  void aFullChunkWithARealReplyPathFitsItsLane() {
    FrameGuard large = FrameGuard.largeLane(kit.system().settings().config());
    ByteBuffer full = Samples.pattern(large.maxChunkPayloadBytes());
    WeightChunk chunk = WeightChunk.split(1, full, large, kit.<WeightChunkAck>createTestProbe().getRef()).get(0);
    long size = large.check(chunk, serialization());
    assertEquals(serialization().serialize(chunk).get().length, size, "measured size is the real size");
    WeightChunk overfull = WeightChunk.of(1, 0, 1, 0, large.maxMessageBytes(),
        Samples.pattern((int) large.maxMessageBytes()), chunk.replyTo());
    FrameTooLargeException e = assertThrows(FrameTooLargeException.class, () -> large.check(overfull, serialization()));
    assertEquals(true, e.getMessage().startsWith("WeightChunk is "), e.getMessage());
  }

  @Test
  void checksCborMessagesByTheirSerializedSize() {
    FrameGuard ordinary = FrameGuard.ordinaryLane(kit.system().settings().config());
    List<Integer> longPrompt = Collections.nCopies(100_000, 151_000);
    RolloutRequest big = new RolloutRequest(Samples.GEN, List.of(longPrompt), new SamplingParams(1, 1, 0, 8, 1, 0), 0,
        kit.<RolloutReply>createTestProbe().getRef());
    FrameTooLargeException e = assertThrows(FrameTooLargeException.class, () -> ordinary.check(big, serialization()));
    assertEquals(true, e.getMessage().startsWith("RolloutRequest is "), e.getMessage());
  }

  @Test
  void rejectsHeadroomThatLeavesNoRoom() {
    assertThrows(IllegalArgumentException.class, () -> new FrameGuard("x", 2_000, 1_000, 1_000));
  }
}
