package org.rlhfnode.node.sync;

import org.rlhfnode.messages.RolloutRejected;
import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.RolloutCommand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.node.sync.SyncTestSupport.WAIT;
import static org.rlhfnode.node.sync.SyncTestSupport.generate;
import static org.rlhfnode.node.sync.SyncTestSupport.greedyTokens;
import static org.rlhfnode.node.sync.SyncTestSupport.receiverOf;
import static org.rlhfnode.node.sync.SyncTestSupport.tokens;
import static org.rlhfnode.node.sync.SyncTestSupport.workerWith;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
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
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.node.role.RolloutWorker;
import org.rlhfnode.node.sync.WeightPublisher.PublishFailed;
import org.rlhfnode.node.sync.WeightPublisher.PublishReply;
import org.rlhfnode.node.sync.WeightPublisher.Published;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.transport.WeightPayload;

/** Artery transport inside one actor system: publisher → receivers → rollout workers, with faults injected. */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WeightSyncTest {

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("WeightSyncTest")
      .withCustomConfig(SyncTestSupport.localConfig()).build();

  private final AtomicInteger ids = new AtomicInteger();

  private String unique(String prefix) {
    return prefix + "-" + ids.incrementAndGet();
  }

  private ActorRef<WeightPublisher.Command> publisher(String overrides) {
    return kit.spawn(WeightPublisher.create(SyncTestSupport.settings(kit, overrides)), unique("publisher"));
  }

  private PublishReply publish(ActorRef<WeightPublisher.Command> publisher, WeightPayload payload,
      List<ActorRef<WeightSyncMessage>> receivers) {
    TestProbe<PublishReply> replies = kit.createTestProbe();
    publisher.tell(new WeightPublisher.Publish(payload, receivers, replies.getRef()));
    return replies.receiveMessage(WAIT);
  }

  @Test
  void twoWorkersInstallVersionOneThenServeItAndRejectVersionZero() {
    ActorRef<RolloutCommand> a = workerWith(kit, unique("rollout"), 0);
    ActorRef<RolloutCommand> b = workerWith(kit, unique("rollout"), 0);
    try (CausalLm v1 = SyncTestSupport.randomTiny(7); WeightPayload payload = WeightPayload.of(1, v1)) {
      PublishReply reply = publish(publisher(""), payload, List.of(receiverOf(kit, a), receiverOf(kit, b)));
      Published published = (Published) reply;
      assertEquals(1, published.version());
      assertEquals("artery", published.transport());
      assertEquals(payload.totalBytes(), published.totalBytes());
      assertEquals(2, published.receiverIds().size());
      assertTrue(published.receiverIds().stream().anyMatch(id -> id.endsWith(a.path().name())), published.toString());
      List<List<Long>> expected = greedyTokens(v1);
      for (ActorRef<RolloutCommand> w : List.of(a, b)) {
        GeneratedSequences g = (GeneratedSequences) generate(kit, w, 1);
        assertEquals(1, g.policyVersion());
        assertEquals(expected, tokens(g), "greedy tokens of the published weights");
        RolloutRejected old = (RolloutRejected) generate(kit, w, 0);
        assertEquals(1, old.installedVersion());
      }
    }
  }

  @Test
  void aChunkThatArrivesCorruptedIsSentAgain() {
    TestProbe<String> events = kit.createTestProbe();
    TestProbe<WeightReceiver.Deliver> delivered = kit.createTestProbe();
    ActorRef<WeightReceiver.Deliver> owner = kit.spawn(SyncTestSupport.installingOwner(delivered.getRef()),
        unique("owner"));
    ActorRef<WeightSyncMessage> receiver = kit.spawn(WeightReceiver.create("r", WAIT, owner), unique("receiver"));
    ActorRef<WeightSyncMessage> relay = kit.spawn(Relay.create(receiver, 1, false, events.getRef()), unique("relay"));
    try (CausalLm v3 = SyncTestSupport.randomTiny(3); WeightPayload payload = WeightPayload.of(3, v3)) {
      assertTrue(publish(publisher(""), payload, List.of(relay)) instanceof Published);
      List<String> seen = events.receiveSeveralMessages(4, WAIT);
      assertEquals(2, seen.stream().filter("chunk 1"::equals).count(), "chunk 1 twice: corrupted, then resent " + seen);
      try (WeightPayload got = delivered.receiveMessage(WAIT).payload()) {
        assertEquals(payload.entries(), got.entries());
        assertEquals(payload.buffer().read(0, (int) payload.totalBytes()), got.buffer().read(0, (int) got.totalBytes()));
      }
    }
  }

  @Test
  void aReceiverThatNeverAcksFailsThePublishByName() {
    ActorRef<WeightSyncMessage> silent = kit.spawn(Behaviors.ignore(), "silent-receiver");
    try (CausalLm v1 = SyncTestSupport.randomTiny(1); WeightPayload payload = WeightPayload.of(1, v1)) {
      PublishReply reply = publish(publisher("weight_ack_timeout_ms = 200, weight_max_retries = 2"), payload,
          List.of(silent));
      PublishFailed failed = (PublishFailed) reply;
      assertEquals(1, failed.version());
      assertTrue(failed.reason().contains("silent-receiver"), failed.reason());
      assertTrue(failed.reason().contains("3 attempt(s)"), failed.reason());
      assertTrue(failed.reason().contains("no ack within 200 ms"), failed.reason());
    }
  }

  @Test
  void aGenerateDuringTheTransferIsServedByTheOldVersion() {
    ActorRef<RolloutCommand> worker = workerWith(kit, unique("rollout"), 0);
    TestProbe<String> events = kit.createTestProbe();
    ActorRef<WeightSyncMessage> relay = kit.spawn(Relay.create(receiverOf(kit, worker), -1, true, events.getRef()),
        unique("relay"));
    List<List<Long>> v0Tokens = tokens((GeneratedSequences) generate(kit, worker, 0));
    try (CausalLm v1 = SyncTestSupport.randomTiny(11); WeightPayload payload = WeightPayload.of(1, v1)) {
      TestProbe<PublishReply> replies = kit.createTestProbe();
      publisher("").tell(new WeightPublisher.Publish(payload, List.of(relay), replies.getRef()));
      events.fishForMessage(WAIT, e -> e.startsWith("held")
          ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
          : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore());
      // every chunk but the last is staged: the worker still serves version 0, unchanged
      GeneratedSequences during = (GeneratedSequences) generate(kit, worker, 0);
      assertEquals(v0Tokens, tokens(during));
      assertEquals(0, ((RolloutRejected) generate(kit, worker, 1)).installedVersion());
      replies.expectNoMessage(java.time.Duration.ofMillis(100));

      relay.tell(new Relay.Release());
      assertTrue(replies.receiveMessage(WAIT) instanceof Published);
      GeneratedSequences after = (GeneratedSequences) generate(kit, worker, 1);
      assertEquals(greedyTokens(v1), tokens(after));
      assertNotEquals(v0Tokens, tokens(after));
    }
  }

  @Test
  void republishingAnInstalledVersionSucceedsWithoutStagingItTwice() {
    ActorRef<RolloutCommand> worker = workerWith(kit, unique("rollout"), 0);
    ActorRef<WeightPublisher.Command> publisher = publisher("");
    List<ActorRef<WeightSyncMessage>> receivers = List.of(receiverOf(kit, worker));
    try (CausalLm v2 = SyncTestSupport.randomTiny(2); WeightPayload payload = WeightPayload.of(2, v2)) {
      assertTrue(publish(publisher, payload, receivers) instanceof Published);
      assertTrue(publish(publisher, payload, receivers) instanceof Published, "the same version again");
      assertEquals(2, ((GeneratedSequences) generate(kit, worker, 2)).policyVersion());
    }
  }
}
