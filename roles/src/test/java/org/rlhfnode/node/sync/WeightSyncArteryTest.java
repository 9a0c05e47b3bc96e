package org.rlhfnode.node.sync;

import org.rlhfnode.messages.RolloutRejected;
import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.RolloutCommand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.node.sync.SyncTestSupport.WAIT;
import static org.rlhfnode.node.sync.SyncTestSupport.generate;
import static org.rlhfnode.node.sync.SyncTestSupport.greedyTokens;
import static org.rlhfnode.node.sync.SyncTestSupport.receiverOf;
import static org.rlhfnode.node.sync.SyncTestSupport.tokens;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.node.role.RolloutWorker;
import org.rlhfnode.node.sync.WeightPublisher.PublishReply;
import org.rlhfnode.node.sync.WeightPublisher.Published;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.transport.PayloadBuffer;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * Two actor systems joined by Artery TCP on 127.0.0.1: the publisher in one, the receivers in the other, so
 * every update, chunk, ack and report goes through its real serializer and the real transport.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WeightSyncArteryTest {

  @JUnit5TestKit
  ActorTestKit home = new JUnit5TestKitBuilder().withName("Trainer").withCustomConfig(remote()).build();

  private final ActorTestKit away = ActorTestKit.create("Rollout", remote());

  /**
   * Artery TCP on an ephemeral 127.0.0.1 port; chunks to receivers on the large-message lane when asked. (A
   * second pattern such as "/user/large-*" would not match beside "/user/*": Artery's wildcard index follows
   * the "*" branch without backtracking.)
   */
  static Config remote() {
    return ConfigFactory.parseString("""
        pekko.actor.provider = remote
        pekko.remote.artery.transport = tcp
        pekko.remote.artery.canonical.hostname = 127.0.0.1
        pekko.remote.artery.canonical.port = 0
        pekko.remote.artery.large-message-destinations = ["/user/*/weights*"]
        pekko.remote.warn-about-direct-use = off
        pekko.remote.warn-unsafe-watch-outside-cluster = off
        pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
        """).withFallback(SyncTestSupport.localConfig());
  }

  @AfterAll
  void stopAway() {
    away.shutdownTestKit();
  }

  /** {@code ref} of the away system as the home system sees it (host:port form). */
  private <T> ActorRef<T> fromHome(ActorRef<T> ref) {
    String path = ActorRefResolver.get(away.system()).toSerializationFormat(ref);
    return ActorRefResolver.get(home.system()).resolveActorRef(path);
  }

  private PublishReply publish(String settings, WeightPayload payload, ActorRef<WeightSyncMessage> receiver) {
    ActorRef<WeightPublisher.Command> publisher =
        home.spawn(WeightPublisher.create(SyncTestSupport.settings(home, settings)), "publisher-" + payload.version());
    TestProbe<PublishReply> replies = home.createTestProbe();
    publisher.tell(new WeightPublisher.Publish(payload, List.of(fromHome(receiver)), replies.getRef()));
    return replies.receiveMessage(WAIT);
  }

  @Test
  void aRolloutWorkerInAnotherSystemInstallsThePublishedVersion() {
    ActorRef<RolloutCommand> worker = SyncTestSupport.workerWith(away, "remote-rollout", 0);
    try (CausalLm v1 = SyncTestSupport.randomTiny(31); WeightPayload payload = WeightPayload.of(1, v1)) {
      PublishReply reply = publish("", payload, receiverOf(away, worker));
      assertEquals(Published.class, reply.getClass(), reply.toString());
      Published published = (Published) reply;
      assertTrue(published.receiverIds().get(0).startsWith("pekko://Rollout@127.0.0.1:"), published.toString());
      GeneratedSequences g = (GeneratedSequences) generate(away, worker, 1);
      assertEquals(greedyTokens(v1), tokens(g));
      assertEquals(1, ((RolloutRejected) generate(away, worker, 0)).installedVersion());
    }
  }

  @Test
  void largeLaneChunksOfSeveralMegabytesArriveBitExactly() {
    TestProbe<WeightReceiver.Deliver> delivered = away.createTestProbe();
    ActorRef<WeightReceiver.Deliver> owner = away.spawn(SyncTestSupport.installingOwner(delivered.getRef()), "owner");
    TestProbe<ActorRef<WeightSyncMessage>> spawned = away.createTestProbe();
    away.spawn(Behaviors.setup(ctx -> { // at /user/large/weights-receiver, a large-message destination
      spawned.getRef().tell(ctx.spawn(WeightReceiver.create("large", WAIT, owner), "weights-receiver"));
      return Behaviors.empty();
    }), "large");
    ActorRef<WeightSyncMessage> receiver = spawned.receiveMessage(WAIT);
    int n = 5 * 1024 * 1024 + 3;
    ByteBuffer pattern = ByteBuffer.allocate(n);
    for (int i = 0; i < n; i++) {
      pattern.put((byte) (i % 251));
    }
    PayloadBuffer buffer = PayloadBuffer.allocate(n);
    buffer.write(0, pattern.flip());
    try (WeightPayload payload = new WeightPayload(7, buffer,
        List.of(new WeightPayload.Entry("bytes", "U8", new long[] {n}, 0)))) {
      PublishReply reply = publish("weight_large_lane = true", payload, receiver);
      assertEquals(Published.class, reply.getClass(), reply.toString());
      try (WeightPayload got = delivered.receiveMessage(WAIT).payload()) {
        assertEquals(payload.buffer().read(0, n), got.buffer().read(0, n));
      }
    }
  }
}
