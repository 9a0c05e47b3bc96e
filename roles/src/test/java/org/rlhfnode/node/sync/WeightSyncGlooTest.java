package org.rlhfnode.node.sync;

import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.RolloutCommand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.rlhfnode.node.sync.SyncTestSupport.WAIT;
import static org.rlhfnode.node.sync.SyncTestSupport.generate;
import static org.rlhfnode.node.sync.SyncTestSupport.greedyTokens;
import static org.rlhfnode.node.sync.SyncTestSupport.receiverOf;
import static org.rlhfnode.node.sync.SyncTestSupport.tokens;
import static org.rlhfnode.node.sync.SyncTestSupport.workerWith;

import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.node.role.RolloutWorker;
import org.rlhfnode.node.sync.WeightPublisher.PublishReply;
import org.rlhfnode.node.sync.WeightPublisher.Published;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.transport.WeightPayload;

/** Gloo transport in one JVM: a c10d broadcast over 127.0.0.1, the group kept or formed anew as receivers change. */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WeightSyncGlooTest {

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("WeightSyncGlooTest")
      .withCustomConfig(SyncTestSupport.localConfig()).build();

  private Published publish(ActorRef<WeightPublisher.Command> publisher, CausalLm model, long version,
      List<ActorRef<WeightSyncMessage>> receivers) {
    try (WeightPayload payload = WeightPayload.of(version, model)) {
      TestProbe<PublishReply> replies = kit.createTestProbe();
      publisher.tell(new WeightPublisher.Publish(payload, receivers, replies.getRef()));
      PublishReply reply = replies.receiveMessage(WAIT);
      assertEquals(Published.class, reply.getClass(), reply.toString());
      return (Published) reply;
    }
  }

  private void assertServes(ActorRef<RolloutCommand> worker, long version, CausalLm model) {
    GeneratedSequences g = (GeneratedSequences) generate(kit, worker, version);
    assertEquals(greedyTokens(model), tokens(g));
  }

  @Test
  void workersInstallBroadcastVersionsAsTheReceiverSetChanges() {
    ActorRef<RolloutCommand> a = workerWith(kit, "gloo-rollout-a", 0);
    ActorRef<RolloutCommand> b = workerWith(kit, "gloo-rollout-b", 0);
    ActorRef<WeightSyncMessage> ra = receiverOf(kit, a);
    ActorRef<WeightSyncMessage> rb = receiverOf(kit, b);
    ActorRef<WeightPublisher.Command> publisher = kit.spawn(WeightPublisher.create(SyncTestSupport.settings(kit,
        "weight_sync_transport = gloo, gloo_host = \"127.0.0.1\", gloo_port = 0, gloo_timeout_ms = 20000")),
        "gloo-publisher");
    try (CausalLm v1 = SyncTestSupport.randomTiny(21); CausalLm v2 = SyncTestSupport.randomTiny(22);
        CausalLm v3 = SyncTestSupport.randomTiny(23)) {
      Published first = publish(publisher, v1, 1, List.of(ra, rb));
      assertEquals("gloo", first.transport());
      assertEquals(2, first.receiverIds().size());
      assertServes(a, 1, v1);
      assertServes(b, 1, v1);

      publish(publisher, v2, 2, List.of(rb, ra)); // same set, same group
      assertServes(a, 2, v2);

      publish(publisher, v3, 3, List.of(ra)); // a new group of two ranks
      assertServes(a, 3, v3);
      assertServes(b, 2, v2);

      publish(publisher, v1, 4, List.of(ra, rb)); // b joins the newest group
      assertServes(a, 4, v1);
      assertServes(b, 4, v1);
    }
  }

  @Test
  void aReceiverThatNeverJoinsFailsThePublishAndTheNextGroupWorks() {
    ActorRef<RolloutCommand> worker = workerWith(kit, "gloo-rollout-c", 0);
    ActorRef<WeightSyncMessage> silent = kit.spawn(org.apache.pekko.actor.typed.javadsl.Behaviors.ignore(),
        "gloo-silent-receiver");
    ActorRef<WeightPublisher.Command> publisher = kit.spawn(WeightPublisher.create(SyncTestSupport.settings(kit,
        "weight_sync_transport = gloo, gloo_host = \"127.0.0.1\", gloo_port = 0, gloo_timeout_ms = 1500")),
        "gloo-publisher-2");
    try (CausalLm v1 = SyncTestSupport.randomTiny(41); WeightPayload payload = WeightPayload.of(1, v1)) {
      TestProbe<PublishReply> replies = kit.createTestProbe();
      publisher.tell(new WeightPublisher.Publish(payload, List.of(receiverOf(kit, worker), silent), replies.getRef()));
      WeightPublisher.PublishFailed failed = replies.expectMessageClass(WeightPublisher.PublishFailed.class, WAIT);
      org.junit.jupiter.api.Assertions.assertTrue(failed.reason().contains("gloo-silent-receiver"), failed.reason());
      publish(publisher, v1, 2, List.of(receiverOf(kit, worker)));
      assertServes(worker, 2, v1);
    }
  }
}
