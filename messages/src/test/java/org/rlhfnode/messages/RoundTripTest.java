package org.rlhfnode.messages;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.serialization.DisabledJavaSerializer;
import org.apache.pekko.serialization.JavaSerializer;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every message type of the protocol goes through the real Pekko serialization extension and comes back
 * equal, using the CBOR serializer for control messages and the tensor serializer for tensor messages,
 * never Java serialization.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RoundTripTest {
  private static final int JACKSON_CBOR_ID = 33;

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("RoundTripTest")
      .withCustomConfig(TestSystems.serializationConfig()).build();

  private Serialization serialization() {
    return SerializationExtension.get(kit.system());
  }

  @Test
  void everyMessageTypeHasASample() throws Exception {
    Set<String> sampled = Samples.all(kit).stream().map(m -> m.getClass().getName())
        .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(protocolClasses(), sampled, "a message type without a round-trip sample");
  }

  @Test
  void controlMessagesUseCborAndTensorMessagesTheTensorSerializer() {
    for (WireMessage m : Samples.all(kit)) {
      Serializer s = serialization().findSerializerFor(m);
      String type = m.getClass().getSimpleName();
      assertFalse(s instanceof JavaSerializer || s instanceof DisabledJavaSerializer, type + " uses Java serialization");
      if (m instanceof TensorMessage) {
        assertEquals(TensorSerializer.IDENTIFIER, s.identifier(), type);
        assertTrue(s instanceof TensorSerializer, type);
      } else {
        assertEquals(JACKSON_CBOR_ID, s.identifier(), type);
        assertTrue(s instanceof JacksonCborSerializer, type);
      }
    }
  }

  @Test
  void everyMessageSurvivesSerializeDeserialize() {
    for (WireMessage m : Samples.all(kit)) {
      Serializer s = serialization().findSerializerFor(m);
      byte[] bytes = serialization().serialize(m).get();
      String manifest = Serializers.manifestFor(s, m);
      Object back = serialization().deserialize(bytes, s.identifier(), manifest).get();
      assertEquals(m, back, m.getClass().getSimpleName());
      assertNotSame(m, back);
      assertArrayEquals(bytes, serialization().serialize(back).get(), m.getClass().getSimpleName() + " re-encodes differently");
    }
  }

  @Test
  void everyMessageSurvivesTheSerializationTestKit() {
    SerializationTestKit verifier = new SerializationTestKit(kit.system());
    for (WireMessage m : Samples.all(kit)) {
      assertEquals(m, verifier.verifySerialization(m, true));
    }
  }

  @Test
  void tensorMessagesSurviveTheByteBufferPathAsArteryUsesIt() throws Exception {
    for (WireMessage m : Samples.all(kit)) {
      if (!(m instanceof TensorMessage)) {
        continue;
      }
      TensorSerializer s = (TensorSerializer) serialization().findSerializerFor(m);
      ByteBuffer envelope = ByteBuffer.allocate(64 * 1024).order(ByteOrder.BIG_ENDIAN);
      envelope.putInt(0xCAFEBABE);
      s.toBinary(m, envelope);
      assertEquals(ByteOrder.BIG_ENDIAN, envelope.order(), "order restored");
      assertEquals(4 + s.serializedSize(m), envelope.position());
      envelope.flip().position(4);
      Object back = s.fromBinary(envelope, s.manifest(m));
      assertEquals(m, back);
      assertFalse(envelope.hasRemaining(), "the reader consumed exactly the message");
    }
  }

  @Test
  void messagesToldToAnActorArriveThroughTheirSerializer() {
    TestProbe<WireMessage> probe = kit.createTestProbe();
    for (WireMessage m : Samples.all(kit)) {
      probe.getRef().tell(m);
      WireMessage received = probe.receiveMessage();
      assertEquals(m, received);
      assertNotSame(m, received, "serialize-messages = on delivers a deserialized copy");
    }
  }

  /** Concrete classes of this package implementing WireMessage, from the compiled classes directory. */
  private static Set<String> protocolClasses() throws IOException, URISyntaxException {
    Path dir = Path.of(WireMessage.class.getProtectionDomain().getCodeSource().getLocation().toURI())
        .resolve(WireMessage.class.getPackageName().replace('.', '/'));
    try (Stream<Path> files = Files.list(dir)) {
      List<String> names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".class"))
          .map(n -> WireMessage.class.getPackageName() + "." + n.substring(0, n.length() - ".class".length()))
          .toList();
      Set<String> out = new TreeSet<>();
      for (String name : names) {
        Class<?> c = load(name);
        if (WireMessage.class.isAssignableFrom(c) && !c.isInterface() && !Modifier.isAbstract(c.getModifiers())) {
          out.add(name);
        }
      }
      return out;
    }
  }

  private static Class<?> load(String name) {
    try {
      return Class.forName(name);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }
}
