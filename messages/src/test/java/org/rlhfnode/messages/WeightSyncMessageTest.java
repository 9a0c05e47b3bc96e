package org.rlhfnode.messages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The {@link WeightSyncMessage} marker adds no binding: a chunk still goes through {@link TensorSerializer},
 * the update and the rendezvous through CBOR, and all three come back equal through an
 * {@code ActorRef<WeightSyncMessage>}.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WeightSyncMessageTest {

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("WeightSyncMessageTest")
      .withCustomConfig(TestSystems.serializationConfig()).build();

  private List<WeightSyncMessage> samples() {
    return Samples.all(kit).stream().filter(m -> m instanceof WeightSyncMessage)
        .map(m -> (WeightSyncMessage) m).toList();
  }

  @Test
  void updateChunkAndRendezvousAreWeightSyncMessages() {
    Set<Class<?>> types = samples().stream().map(Object::getClass).collect(Collectors.toSet());
    assertEquals(Set.of(WeightUpdate.class, WeightChunk.class, CollectiveRendezvous.class), types);
  }

  @Test
  void chunkKeepsTheTensorSerializerAndTheOthersCbor() {
    Serialization serialization = SerializationExtension.get(kit.system());
    for (WeightSyncMessage m : samples()) {
      Serializer s = serialization.findSerializerFor(m);
      if (m instanceof WeightChunk) {
        assertInstanceOf(TensorSerializer.class, s, "WeightChunk");
      } else {
        assertInstanceOf(JacksonCborSerializer.class, s, m.getClass().getSimpleName());
      }
      byte[] bytes = serialization.serialize(m).get();
      Object back = serialization.deserialize(bytes, s.identifier(), Serializers.manifestFor(s, m)).get();
      assertEquals(m, back, m.getClass().getSimpleName());
    }
  }

  @Test
  void weightSyncMessagesArriveThroughATypedReceiverRef() {
    TestProbe<WeightSyncMessage> receiver = kit.createTestProbe();
    for (WeightSyncMessage m : samples()) {
      receiver.getRef().tell(m);
      WeightSyncMessage received = receiver.receiveMessage();
      assertEquals(m, received);
      assertNotSame(m, received, "serialize-messages = on delivers a deserialized copy");
    }
  }
}
