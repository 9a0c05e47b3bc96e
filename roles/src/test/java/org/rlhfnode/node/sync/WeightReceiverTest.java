package org.rlhfnode.node.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.rlhfnode.node.sync.SyncTestSupport.WAIT;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.rlhfnode.messages.CollectiveRendezvous;
import org.rlhfnode.messages.FrameGuard;
import org.rlhfnode.messages.WeightChunk;
import org.rlhfnode.messages.WeightChunkAck;
import org.rlhfnode.messages.WeightChunkAck.Status;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.messages.WeightVersionInstalled;
import org.rlhfnode.runtime.transport.GlooGroup;
import org.rlhfnode.runtime.transport.PayloadBuffer;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * {@link WeightReceiver} fed chunks (or a broadcast) directly: order, duplicates, checksums, stale and superseded
 * versions, and bytes that are not the ones the update announced.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WeightReceiverTest {
  private static final FrameGuard SMALL = new FrameGuard("test lane", 10_240, 1024, 1024); // 8 KiB chunks

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("WeightReceiverTest")
      .withCustomConfig(SyncTestSupport.localConfig()).build();

  private final AtomicInteger ids = new AtomicInteger();
  private final TestProbe<WeightReceiver.Deliver> delivered = kit.createTestProbe();
  private final TestProbe<WeightChunkAck> acks = kit.createTestProbe();
  private final TestProbe<WeightVersionInstalled> installed = kit.createTestProbe();

  private ActorRef<WeightSyncMessage> receiver() {
    int id = ids.incrementAndGet();
    ActorRef<WeightReceiver.Deliver> owner = kit.spawn(SyncTestSupport.installingOwner(delivered.getRef()), "owner-" + id);
    return kit.spawn(WeightReceiver.create("receiver-" + id, WAIT, owner), "receiver-" + id);
  }

  /** One F32 tensor of 10 000 values (40 000 bytes, 5 chunks), filled from {@code seed}. */
  private static WeightPayload payload(long version, int seed) {
    int n = 10_000;
    ByteBuffer bytes = ByteBuffer.allocate(4 * n);
    for (int i = 0; i < n; i++) {
      bytes.putFloat(seed + i * 0.5f);
    }
    PayloadBuffer buffer = PayloadBuffer.allocate(4L * n);
    buffer.write(0, bytes.flip());
    return new WeightPayload(version, buffer, List.of(new WeightPayload.Entry("w", "F32", new long[] {100, 100}, 0)));
  }

  private List<WeightChunk> chunks(ChunkPlan plan) {
    List<WeightChunk> out = new ArrayList<>();
    for (int i = 0; i < plan.total(); i++) {
      out.add(plan.chunk(i, acks.getRef()));
    }
    return out;
  }

  private Status ackOf(ActorRef<WeightSyncMessage> r, WeightChunk c) {
    r.tell(c);
    WeightChunkAck ack = acks.receiveMessage(WAIT);
    assertEquals(c.index(), ack.index());
    return ack.status();
  }

  private static void assertSameBytes(WeightPayload expected, WeightPayload actual) {
    assertEquals(expected.entries(), actual.entries());
    assertEquals(expected.buffer().read(0, (int) expected.totalBytes()),
        actual.buffer().read(0, (int) actual.totalBytes()));
  }

  @Test
  void chunksInReverseOrderAndBeforeTheirUpdateAssembleTheVersion() {
    ActorRef<WeightSyncMessage> r = receiver();
    try (WeightPayload sent = payload(1, 3)) {
      ChunkPlan plan = ChunkPlan.of(sent, SMALL);
      assertEquals(5, plan.total());
      List<WeightChunk> reversed = chunks(plan);
      Collections.reverse(reversed);
      for (WeightChunk c : reversed) {
        assertEquals(Status.ACCEPTED, ackOf(r, c));
      }
      assertEquals(Status.ACCEPTED, ackOf(r, reversed.get(2)), "a duplicate is accepted again");
      delivered.expectNoMessage(java.time.Duration.ofMillis(100));
      r.tell(plan.update(installed.getRef()));
      try (WeightPayload got = delivered.receiveMessage(WAIT).payload()) {
        assertSameBytes(sent, got);
      }
      WeightVersionInstalled report = installed.receiveMessage(WAIT);
      assertEquals(1, report.version());
      assertEquals("receiver-" + ids.get(), report.receiverId());
    }
  }

  @Test
  void aCorruptedChunkIsAnsweredWithChecksumMismatch() {
    ActorRef<WeightSyncMessage> r = receiver();
    try (WeightPayload sent = payload(1, 4)) {
      WeightChunk good = ChunkPlan.of(sent, SMALL).chunk(0, acks.getRef());
      ByteBuffer flipped = ByteBuffer.allocate(good.byteCount()).put(good.bytes());
      flipped.put(7, (byte) ~flipped.get(7));
      WeightChunk bad = new WeightChunk(1, 0, good.total(), 0, good.totalBytes(), good.checksum(), flipped.flip(),
          acks.getRef());
      assertEquals(Status.CHECKSUM_MISMATCH, ackOf(r, bad));
      assertEquals(Status.ACCEPTED, ackOf(r, good));
    }
  }

  @Test
  void aNewerVersionReplacesAnIncompleteOneAndOlderChunksAreStale() {
    ActorRef<WeightSyncMessage> r = receiver();
    try (WeightPayload v1 = payload(1, 5); WeightPayload v2 = payload(2, 6)) {
      ChunkPlan p1 = ChunkPlan.of(v1, SMALL);
      ChunkPlan p2 = ChunkPlan.of(v2, SMALL);
      r.tell(p1.update(installed.getRef()));
      assertEquals(Status.ACCEPTED, ackOf(r, p1.chunk(0, acks.getRef())));
      r.tell(p2.update(installed.getRef()));
      for (WeightChunk c : chunks(p2)) {
        assertEquals(Status.ACCEPTED, ackOf(r, c));
      }
      try (WeightPayload got = delivered.receiveMessage(WAIT).payload()) {
        assertEquals(2, got.version());
        assertSameBytes(v2, got);
      }
      assertEquals(2, installed.receiveMessage(WAIT).version());
      assertEquals(Status.STALE_VERSION, ackOf(r, p1.chunk(1, acks.getRef())));
      assertEquals(Status.ACCEPTED, ackOf(r, p2.chunk(1, acks.getRef())), "a resend of the installed version");
      delivered.expectNoMessage(java.time.Duration.ofMillis(100));
    }
  }

  @Test
  void afterAResetOnlyTheRestoredVersionIsTakenEvenAnOlderOne() {
    ActorRef<WeightSyncMessage> r = receiver();
    try (WeightPayload v3 = payload(3, 7); WeightPayload v4 = payload(4, 8); WeightPayload v2 = payload(2, 9)) {
      ChunkPlan p3 = ChunkPlan.of(v3, SMALL);
      r.tell(p3.update(installed.getRef()));
      chunks(p3).forEach(c -> assertEquals(Status.ACCEPTED, ackOf(r, c)));
      delivered.receiveMessage(WAIT).payload().close();
      assertEquals(3, installed.receiveMessage(WAIT).version());
      r.tell(new WeightReceiver.Reset(2)); // the run was restored to version 2
      ChunkPlan p4 = ChunkPlan.of(v4, SMALL); // the abandoned iterations' version, still on its way
      r.tell(p4.update(installed.getRef()));
      assertEquals(Status.STALE_VERSION, ackOf(r, p4.chunk(0, acks.getRef())));
      ChunkPlan p2 = ChunkPlan.of(v2, SMALL);
      r.tell(p2.update(installed.getRef()));
      chunks(p2).forEach(c -> assertEquals(Status.ACCEPTED, ackOf(r, c)));
      try (WeightPayload got = delivered.receiveMessage(WAIT).payload()) {
        assertEquals(2, got.version(), "older than what was installed, and taken");
        assertSameBytes(v2, got);
      }
      assertEquals(2, installed.receiveMessage(WAIT).version());
      delivered.expectNoMessage(java.time.Duration.ofMillis(100));
    }
  }

  /** Runs {@code body} with the receiver's log lines collected into the list it is given. */
  private static void withLog(java.util.function.Consumer<List<ch.qos.logback.classic.spi.ILoggingEvent>> body) {
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        WeightReceiver.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
        new ch.qos.logback.core.read.ListAppender<>();
    lines.start();
    log.addAppender(lines);
    try {
      body.accept(lines.list);
    } finally {
      log.detachAppender(lines);
    }
  }

  /** Waits until exactly one line refuses {@code version} of {@code sent} bytes announced as {@code announced}. */
  private void expectOneRefusal(List<ch.qos.logback.classic.spi.ILoggingEvent> lines, WeightPayload announced,
      WeightPayload sent) {
    String refusal = "refused weight version " + announced.version() + ": its " + sent.totalBytes() + " bytes hash to "
        + sent.digest() + " but the trainer announced " + announced.digest();
    installed.awaitAssert(WAIT, () -> {
      assertEquals(1, lines.stream().filter(e -> e.getFormattedMessage().contains(refusal)).count(), lines.toString());
      return null;
    });
    delivered.expectNoMessage(java.time.Duration.ofMillis(200));
    installed.expectNoMessage(java.time.Duration.ZERO);
  }

  @Test
  void chunkedBytesThatDoNotHashToTheAnnouncedDigestAreNeverInstalled() {
    ActorRef<WeightSyncMessage> r = receiver();
    withLog(lines -> {
      try (WeightPayload announced = payload(1, 10); WeightPayload other = payload(1, 11)) {
        // every chunk carries a valid CRC of its own bytes, but the bytes are not the ones announced
        r.tell(ChunkPlan.of(announced, SMALL).update(installed.getRef()));
        chunks(ChunkPlan.of(other, SMALL)).forEach(c -> assertEquals(Status.ACCEPTED, ackOf(r, c)));
        expectOneRefusal(lines, announced, other);
        try (WeightPayload v2 = payload(2, 12)) { // the next version, with the bytes it announces, goes in
          ChunkPlan p2 = ChunkPlan.of(v2, SMALL);
          r.tell(p2.update(installed.getRef()));
          chunks(p2).forEach(c -> assertEquals(Status.ACCEPTED, ackOf(r, c)));
          try (WeightPayload got = delivered.receiveMessage(WAIT).payload()) {
            assertSameBytes(v2, got);
          }
          assertEquals(2, installed.receiveMessage(WAIT).version());
        }
      }
    });
  }

  @Test
  void broadcastBytesThatDoNotHashToTheAnnouncedDigestAreNeverInstalled() {
    ActorRef<WeightSyncMessage> r = receiver();
    withLog(lines -> {
      try (GlooGroup.Host host = GlooGroup.Host.listen("127.0.0.1", 0, WAIT);
          WeightPayload announced = payload(1, 20); WeightPayload other = payload(1, 21)) {
        r.tell(new CollectiveRendezvous(1, "gloo", "127.0.0.1", host.port(), host.secret().hex(), 2, 1));
        r.tell(ChunkPlan.update(announced, 1, installed.getRef()));
        try (GlooGroup root = host.form(2)) { // the test is rank 0, and sends other bytes than it announced
          root.broadcast(other.buffer());
        }
        expectOneRefusal(lines, announced, other);
      }
    });
  }
}
