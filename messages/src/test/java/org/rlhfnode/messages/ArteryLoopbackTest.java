package org.rlhfnode.messages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two actor systems joined by Artery TCP on 127.0.0.1 (ephemeral ports): every message type goes there
 * and back through the real transport, a full-size weight chunk fits the large-message lane, and an
 * oversized batch that {@link FrameGuard} refuses is indeed dropped by Artery.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArteryLoopbackTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  @JUnit5TestKit
  ActorTestKit home = new JUnit5TestKitBuilder().withName("Home").withCustomConfig(remote()).build();

  private final ActorTestKit away = ActorTestKit.create("Away", remote());

  private static Config remote() {
    return ConfigFactory.parseString("""
        pekko.actor.provider = remote
        pekko.actor.serialize-messages = off
        pekko.remote.artery.transport = tcp
        pekko.remote.artery.canonical.hostname = 127.0.0.1
        pekko.remote.artery.canonical.port = 0
        pekko.remote.warn-about-direct-use = off
        pekko.remote.warn-unsafe-watch-outside-cluster = off
        pekko.remote.artery.large-message-destinations = ["/user/large-echo", "/system/testProbe-*"]
        """).withFallback(TestSystems.serializationConfig());
  }

  @AfterAll
  void stopAway() {
    away.shutdownTestKit();
  }

  /** An actor in the away system that sends every message it gets to {@code target} (in the home system). */
  private static Behavior<WireMessage> echoTo(ActorRef<WireMessage> target) {
    return Behaviors.receiveMessage(m -> {
      target.tell(m);
      return Behaviors.same();
    });
  }

  /** The away actor as the home system sees it: resolved from its serialized (host:port) form. */
  private ActorRef<WireMessage> awayEcho(String name, ActorRef<WireMessage> target) {
    ActorRef<WireMessage> echo = away.spawn(echoTo(target), name);
    String path = ActorRefResolver.get(away.system()).toSerializationFormat(echo);
    return ActorRefResolver.get(home.system()).resolveActorRef(path);
  }

  /** A home probe as the away system sees it. */
  private ActorRef<WireMessage> seenFromAway(ActorRef<WireMessage> homeRef) {
    String path = ActorRefResolver.get(home.system()).toSerializationFormat(homeRef);
    return ActorRefResolver.get(away.system()).resolveActorRef(path);
  }

  @Test
  void everyMessageTypeCrossesArteryAndComesBackEqual() {
    TestProbe<WireMessage> back = home.createTestProbe();
    ActorRef<WireMessage> echo = awayEcho("echo", seenFromAway(back.getRef()));
    for (WireMessage m : Samples.all(home)) {
      echo.tell(m);
      WireMessage received = back.receiveMessage(WAIT);
      assertEquals(m, received, m.getClass().getSimpleName());
      assertNotSame(m, received);
    }
  }

  @Test
  void aFullSizeChunkCrossesTheLargeLaneAndItsAckComesBack() {
    FrameGuard large = FrameGuard.largeLane(home.system().settings().config());
    TestProbe<WireMessage> back = home.createTestProbe();
    TestProbe<WeightChunkAck> acks = home.createTestProbe();
    ActorRef<WireMessage> echo = awayEcho("large-echo", seenFromAway(back.getRef()));
    WeightChunk chunk = WeightChunk.split(3, Samples.pattern(large.maxChunkPayloadBytes()), large, acks.getRef())
        .get(0);
    large.check(chunk, SerializationExtension.get(home.system()));
    echo.tell(chunk);
    WeightChunk received = (WeightChunk) back.receiveMessage(WAIT);
    assertEquals(chunk, received);
    assertTrue(received.checksumMatches());
    received.replyTo().tell(received.verify("away"));
    assertEquals(WeightChunkAck.Status.ACCEPTED, acks.receiveMessage(WAIT).status());
  }

  @Test
  void arteryDropsWhatTheGuardRefuses() {
    FrameGuard ordinary = FrameGuard.ordinaryLane(home.system().settings().config());
    int floats = (int) (ordinary.maxFrameBytes() / 4);
    ExperienceBatch tooBig = new ExperienceBatch(Samples.BATCH, 0, 0, TensorMap.of(TensorNames.SEQUENCES,
        WireTensor.ofFloats(new long[] {1, floats}, new float[floats])));
    assertThrows(FrameTooLargeException.class,
        () -> ordinary.check(tooBig, SerializationExtension.get(home.system())));
    TestProbe<WireMessage> back = home.createTestProbe();
    ActorRef<WireMessage> echo = awayEcho("small-echo", seenFromAway(back.getRef()));
    echo.tell(tooBig);
    echo.tell(new WeightVersionInstalled(1, "after", 0));
    // same lane, so had the batch arrived it would come first
    assertEquals(new WeightVersionInstalled(1, "after", 0), back.receiveMessage(WAIT));
    back.expectNoMessage(Duration.ofMillis(200));
  }
}
