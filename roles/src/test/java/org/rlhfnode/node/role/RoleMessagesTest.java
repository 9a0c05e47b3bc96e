package org.rlhfnode.node.role;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.serialization.JavaSerializer;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.rlhfnode.messages.WireMessage;
import org.rlhfnode.node.supervisor.Supervisor;
import org.rlhfnode.node.sync.WeightPublisher;

/**
 * Every message the roles module defines for the wire (the rollout request and its answers are in
 * messages/ and tested there) survives Pekko serialization (CBOR, typed refs
 * included) unchanged; none falls back to Java serialization.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RoleMessagesTest {
  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("RoleMessagesTest")
      .withCustomConfig(ConfigFactory.parseString("""
          pekko.actor.provider = cluster
          pekko.remote.artery.canonical.hostname = 127.0.0.1
          pekko.remote.artery.canonical.port = 0
          pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
          """)).build();

  private List<WireMessage> samples() {
    return List.of(
        new RolloutWorker.InstallWeights(4, Path.of("/tmp/run/policy"),
            kit.<RolloutWorker.InstallReply>createTestProbe().getRef()),
        new RolloutWorker.WeightsInstalled(4),
        new RolloutWorker.InstallRefused(4, 5, "version 4 is not newer than 5"),
        new Supervisor.Outcome(12, 12, "", 0),
        new Supervisor.Stop(kit.<org.apache.pekko.Done>createTestProbe().getRef()),
        new Supervisor.Outcome(3, 3, "ckpt_path holds checkpoints of an earlier run", 2),
        new WeightPublisher.Published(4, List.of("rollout-0"), 1 << 20, 0.5, "artery"),
        new WeightPublisher.PublishFailed(4, "rollout-0: no ack for chunk 3 after 3 resends"));
  }

  @Test
  void everyRoleMessageRoundTripsThroughCbor() throws Exception {
    Serialization serialization = SerializationExtension.get(kit.system());
    for (WireMessage m : samples()) {
      Serializer s = serialization.findSerializerFor(m);
      assertFalse(s instanceof JavaSerializer, m.getClass().getSimpleName() + " uses Java serialization");
      byte[] bytes = serialization.serialize(m).get();
      Object back = serialization.deserialize(bytes, s.identifier(), Serializers.manifestFor(s, m)).get();
      assertEquals(m, back, m.getClass().getSimpleName());
    }
  }
}
