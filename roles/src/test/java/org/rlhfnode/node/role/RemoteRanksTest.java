package org.rlhfnode.node.role;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.rlhfnode.messages.RankCommand;
import org.rlhfnode.messages.RankTaskDone;

/**
 * The lead's view of the other nodes of a trainer: a node's own error is told apart from the loss of a
 * node (which ends the trainer so that the supervisor restores a new group), a node's own error wins over
 * the collective failures it causes on the lead, and giving the group up releases a waiting task at once.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RemoteRanksTest {
  private static final Duration LONG = Duration.ofMinutes(5);

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("RemoteRanksTest")
      .withCustomConfig(ConfigFactory.parseString("pekko.actor.provider = local")).build();

  /** A node that answers every task with {@code error} ({@code peerLost} as given); "" = done. */
  private ActorRef<RankCommand> node(String error, boolean peerLost) {
    return kit.spawn(Behaviors.receiveMessage(c -> {
      if (c instanceof RankCommand.Task t) {
        t.replyTo().tell(new RankTaskDone(t.epoch(), t.seq(), error, peerLost));
      }
      return Behaviors.same();
    }));
  }

  private RemoteRanks ranks(List<ActorRef<RankCommand>> nodes, Duration timeout) {
    return new RemoteRanks(nodes, 7, kit.system().scheduler(), timeout);
  }

  private static RankCommand.Task payload(long epoch, long seq, int node, ActorRef<RankTaskDone> to) {
    return new RankCommand.Payload(epoch, seq, 3, to);
  }

  @Test
  void everyNodeGetsTheTaskInOrderWithItsIndexAndEpoch() {
    TestProbe<RankCommand> a = kit.createTestProbe();
    TestProbe<RankCommand> b = kit.createTestProbe();
    RemoteRanks r = ranks(List.of(a.getRef(), b.getRef()), LONG);
    CompletableFuture<Void> all = r.start((e, s, n, to) -> new RankCommand.Export(e, s, "/out/" + n, to), List.of());
    RankCommand.Export ta = a.expectMessageClass(RankCommand.Export.class);
    RankCommand.Export tb = b.expectMessageClass(RankCommand.Export.class);
    assertEquals(List.of("/out/0", "/out/1", 7L, 7L, 0L), List.of(ta.directory(), tb.directory(), ta.epoch(),
        tb.epoch(), ta.seq()));
    ta.replyTo().tell(RankTaskDone.done(7, 0));
    assertFalse(all.isDone(), "done before the second node answered");
    tb.replyTo().tell(RankTaskDone.done(7, 0));
    r.await(all);
    assertFalse(r.broken());
  }

  @Test
  void aNodesOwnErrorIsNotALostNode() {
    RemoteRanks r = ranks(List.of(node("", false), node("model.safetensors: truncated", false)), LONG);
    RuntimeException e = assertThrows(RuntimeException.class, () -> r.await(r.start(RemoteRanksTest::payload, List.of())));
    assertTrue(e instanceof RemoteRanks.NodeFailed && e.getMessage().contains("model.safetensors: truncated"),
        e.toString());
    assertFalse(RemoteRanks.peerLost(e), "a node's own error must stop the run, not restart the group");
    assertTrue(r.broken());
  }

  @Test
  void aNodeThatFailedOnlyBecauseAPeerWentAwayIsALostNode() {
    RemoteRanks r = ranks(List.of(node("all-reduce failed: Connection reset by peer", true)), LONG);
    RuntimeException e = assertThrows(RuntimeException.class, () -> r.await(r.start(RemoteRanksTest::payload, List.of())));
    assertTrue(RemoteRanks.peerLost(e), e.toString());
  }

  @Test
  void aSilentNodeIsLostAfterTheTimeoutAndGivingUpReleasesTheWaitAtOnce() {
    TestProbe<RankCommand> silent = kit.createTestProbe();
    RemoteRanks quick = ranks(List.of(silent.getRef()), Duration.ofMillis(200));
    RuntimeException late = assertThrows(RuntimeException.class,
        () -> quick.await(quick.start(RemoteRanksTest::payload, List.of())));
    assertTrue(RemoteRanks.peerLost(late) && late.getMessage().contains("did not answer"), late.toString());

    RemoteRanks r = ranks(List.of(silent.getRef()), LONG);
    CompletableFuture<Void> waiting = r.start(RemoteRanksTest::payload, List.of());
    CompletableFuture<RuntimeException> failure = CompletableFuture.supplyAsync(
        () -> assertThrows(RuntimeException.class, () -> r.await(waiting)));
    r.abandon("node t2 left the cluster");
    RuntimeException e = failure.join(); // would wait LONG without the abandon
    assertTrue(RemoteRanks.peerLost(e) && e.getMessage().contains("node t2 left the cluster"), e.toString());
    assertTrue(r.broken());
  }

  @Test
  void aNodesOwnErrorIsReportedOverTheCollectiveFailureItCausedHere() {
    RemoteRanks r = ranks(List.of(node("CUDA out of memory", false)), LONG);
    CompletableFuture<Void> others = r.start(RemoteRanksTest::payload, List.of());
    RuntimeException local = new IllegalStateException("all-reduce failed", new TimeoutException("peer closed"));
    assertTrue(RemoteRanks.peerLost(local));
    RuntimeException reported = r.explain(others, local);
    assertTrue(reported instanceof RemoteRanks.NodeFailed && reported.getMessage().contains("CUDA out of memory"),
        reported.toString());
    RuntimeException own = new IllegalArgumentException("token id 900 is outside the vocabulary");
    assertSame(own, r.explain(others, own), "a local error of its own stands");
  }

  @Test
  void peerLossIsFoundThroughWrappers() {
    assertTrue(RemoteRanks.peerLost(new CompletionException(new RemoteRanks.PeerLost("gone"))));
    assertFalse(RemoteRanks.peerLost(new CompletionException(new RemoteRanks.NodeFailed("disk full"))));
    assertFalse(RemoteRanks.peerLost(new IllegalStateException("plain")));
  }
}
