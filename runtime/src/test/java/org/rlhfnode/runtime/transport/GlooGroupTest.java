package org.rlhfnode.runtime.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Two ranks in one JVM (two threads) form a Gloo group over a TCP store on 127.0.0.1 and broadcast bytes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GlooGroupTest {
  private static final String HOST = "127.0.0.1";
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  private static final Duration SHORT = Duration.ofSeconds(1);
  private final ExecutorService rank1 = Executors.newSingleThreadExecutor();

  @AfterAll
  void stop() throws InterruptedException {
    rank1.shutdownNow();
    rank1.awaitTermination(30, TimeUnit.SECONDS);
  }

  /** Bytes 0, 1, 2, ... mod 251, so that an offset error shows. */
  private static PayloadBuffer pattern(int n) {
    PayloadBuffer b = PayloadBuffer.allocate(n);
    ByteBuffer src = ByteBuffer.allocate(n);
    for (int i = 0; i < n; i++) {
      src.put((byte) (i % 251));
    }
    b.write(0, src.flip());
    return b;
  }

  private static void assertSameBytes(PayloadBuffer expected, PayloadBuffer actual) {
    assertEquals(expected.size(), actual.size());
    assertEquals(expected.read(0, (int) expected.size()), actual.read(0, (int) actual.size()));
  }

  /** Rank 1 joins on its own thread and receives {@code size} bytes; the group stays open for the caller. */
  private CompletableFuture<GlooGroup> joinAndReceive(GlooGroup.Host host, PayloadBuffer into) {
    return CompletableFuture.supplyAsync(() -> {
      GlooGroup g = GlooGroup.join(HOST, host.port(), host.secret(), 2, 1, TIMEOUT);
      g.broadcast(into);
      return g;
    }, rank1);
  }

  @Test
  void twoRanksBroadcastAFewMegabytesBitExactly() {
    int size = 3 * 1024 * 1024 + 17;
    try (GlooGroup.Host host = GlooGroup.Host.listen(HOST, 0, TIMEOUT);
        PayloadBuffer sent = pattern(size);
        PayloadBuffer received = PayloadBuffer.allocate(size)) {
      assertTrue(host.port() > 0, "port 0 gets a real port");
      CompletableFuture<GlooGroup> other = joinAndReceive(host, received);
      try (GlooGroup root = host.form(2)) {
        root.broadcast(sent);
        try (GlooGroup joined = other.join()) {
          assertEquals(1, joined.rank());
          assertTrue(joined.isCurrent());
        }
      }
      assertSameBytes(sent, received);
    }
  }

  @Test
  void aHostClosedAndOpenedAgainOnTheSamePortServesANewGroup() throws IOException {
    int port = freePort();
    try (PayloadBuffer sent = pattern(4096); PayloadBuffer first = PayloadBuffer.allocate(4096);
        PayloadBuffer second = PayloadBuffer.allocate(4096)) {
      GlooGroup.Host host = GlooGroup.Host.listen(HOST, port, TIMEOUT);
      CompletableFuture<GlooGroup> joined = joinAndReceive(host, first);
      GlooGroup root = host.form(2);
      root.broadcast(sent);
      GlooGroup oldMember = joined.join();
      assertTrue(oldMember.isCurrent());
      assertThrows(IllegalStateException.class, () -> host.form(2), "one group per host");
      root.close();
      host.close();
      try (GlooGroup.Host again = GlooGroup.Host.listen(HOST, port, TIMEOUT)) {
        assertFalse(oldMember.isCurrent(), "a rank sees that rank 0 serves another group now");
        oldMember.close();
        CompletableFuture<GlooGroup> rejoined = joinAndReceive(again, second);
        try (GlooGroup newRoot = again.form(2)) {
          newRoot.broadcast(sent);
          rejoined.join().close();
        }
      }
      assertSameBytes(sent, second);
    }
  }

  @Test
  void closingTheHostReleasesARankWaitingForTheOthers() {
    GlooGroup.Host host = GlooGroup.Host.listen(HOST, 0, SHORT);
    CompletableFuture<GlooGroup> waiting = CompletableFuture.supplyAsync(
        () -> GlooGroup.join(HOST, host.port(), host.secret(), 3, 1, TIMEOUT), rank1);
    assertThrows(GlooGroup.GlooException.class, () -> host.form(3)); // rank 2 never comes
    host.close();
    long start = System.nanoTime();
    java.util.concurrent.CompletionException e = assertThrows(java.util.concurrent.CompletionException.class,
        waiting::join);
    assertTrue(e.getCause() instanceof GlooGroup.GlooException, e.toString());
    assertTrue(System.nanoTime() - start < TIMEOUT.toNanos() / 2, "released by the host, not by its own timeout");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void aPeerThatNeverJoinsTimesOutNamingTheStore() {
    try (GlooGroup.Host host = GlooGroup.Host.listen(HOST, 0, SHORT)) {
      GlooGroup.GlooException e = assertThrows(GlooGroup.GlooException.class, () -> host.form(2));
      assertTrue(e.getMessage().contains(HOST + ":" + host.port()), e.getMessage());
      assertTrue(e.getMessage().contains("waiting for the other ranks"), e.getMessage());
    }
  }

  @Test
  void joiningAStoreThatIsNotThereFailsNamingIt() throws IOException {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    GlooGroup.GlooException e = assertThrows(GlooGroup.GlooException.class,
        () -> GlooGroup.join(HOST, closedPort, RendezvousSecret.fresh(), 2, 1, SHORT));
    assertTrue(e.getMessage().contains("cannot reach the c10d TCP store at " + HOST + ":" + closedPort),
        e.getMessage());
  }

  @Test
  void theStoreListensOnItsHostAddressOnly() throws IOException {
    try (GlooGroup.Host host = GlooGroup.Host.listen(HOST, 0, TIMEOUT)) {
      try (Socket ok = new Socket(HOST, host.port())) {
        assertTrue(ok.isConnected());
      }
      // 127.0.0.2 is this machine too (the whole of 127/8 is loopback), but not the address the store was given
      assertThrows(ConnectException.class, () -> new Socket("127.0.0.2", host.port()).close());
    }
  }

  @Test
  void aRankThatCannotProveTheSecretIsRefusedOnEveryRank() {
    // the gate keeps strangers out of the store; this is the second check, over the formed group's own
    // connections, as if a stranger had slipped into the group: rank 1 holds another secret
    try (GlooGroup.Host host = GlooGroup.Host.listen(HOST, 0, TIMEOUT);
        PayloadBuffer unused = PayloadBuffer.allocate(1)) {
      CompletableFuture<GlooGroup> other = CompletableFuture.supplyAsync(
          () -> GlooGroup.join(HOST, host.port(), host.secret(), 2, 1, TIMEOUT), rank1);
      try (GlooGroup root = host.form(2); GlooGroup joined = other.join()) {
        CompletableFuture<Void> theirs = CompletableFuture.runAsync(
            () -> RendezvousSecret.fresh().prove(joined.collectives(), "rank 1's view"), rank1);
        GlooGroup.GlooException refused = assertThrows(GlooGroup.GlooException.class,
            () -> host.secret().prove(root.collectives(), root.describe()));
        assertTrue(refused.getMessage().contains("rank(s) [1] did not prove the rendezvous secret"),
            refused.getMessage());
        java.util.concurrent.CompletionException e = assertThrows(java.util.concurrent.CompletionException.class,
            theirs::join);
        assertTrue(e.getCause().getMessage().contains("rank(s) [0] did not prove"), e.toString());
      }
    }
  }

  @Test
  void strangersAtTheStorePortAreRefusedLoggedOnceAndChangeNothing() throws IOException {
    int size = 100_003;
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        StoreGate.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
        new ch.qos.logback.core.read.ListAppender<>();
    lines.start();
    log.addAppender(lines);
    try (GlooGroup.Host host = GlooGroup.Host.listen(HOST, 0, TIMEOUT);
        PayloadBuffer sent = pattern(size);
        PayloadBuffer received = PayloadBuffer.allocate(size)) {
      byte[] garbage = new byte[4096];
      new java.util.Random(7).nextBytes(garbage);
      for (int i = 0; i < 2; i++) {
        try (Socket stranger = new Socket(HOST, host.port())) {
          stranger.getOutputStream().write(garbage);
          stranger.getOutputStream().flush();
          assertEquals(RendezvousSecret.PROOF_BYTES, stranger.getInputStream().readNBytes(64).length,
              "a stranger gets the challenge and nothing else: the store never sees it");
        }
      }
      // libtorch's own store client, without the secret: refused before it reaches the store
      GlooGroup.GlooException e = assertThrows(GlooGroup.GlooException.class,
          () -> GlooGroup.join(HOST, host.port(), RendezvousSecret.fresh(), 2, 1, SHORT));
      assertTrue(e.getMessage().contains("cannot reach the c10d TCP store at " + HOST + ":" + host.port())
          || e.getMessage().contains("is not a weight-sync host"), e.getMessage());
      CompletableFuture<GlooGroup> other = joinAndReceive(host, received);
      try (GlooGroup root = host.form(2)) {
        root.broadcast(sent);
        other.join().close();
      }
      assertSameBytes(sent, received);
    } finally {
      log.detachAppender(lines);
    }
    assertEquals(1, lines.list.size(), lines.list.toString());
    assertTrue(lines.list.get(0).getFormattedMessage().matches("c10d store 127\\.0\\.0\\.1:\\d+: refused a connection "
        + "from 127\\.0\\.0\\.1: its answer to the challenge is not the rendezvous secret's .*"),
        lines.list.get(0).getFormattedMessage());
  }

  @Test
  void theSecretNeverShowsInText() {
    RendezvousSecret secret = RendezvousSecret.fresh();
    assertEquals(64, secret.hex().length());
    assertFalse(secret.toString().contains(secret.hex()));
    assertEquals(secret.hex(), RendezvousSecret.ofHex(secret.hex()).hex());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RendezvousSecret.ofHex(secret.hex().substring(1) + "z"));
    assertFalse(e.getMessage().contains(secret.hex().substring(1)), e.getMessage());
  }
}
