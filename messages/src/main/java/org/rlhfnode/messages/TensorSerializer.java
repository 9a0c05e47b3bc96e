package org.rlhfnode.messages;

import java.io.NotSerializableException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.ByteBufferSerializer;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * Pekko serializer for {@link TensorMessage}s: a u16 format version, then the message's fields and its
 * tensors as raw little-endian bytes with dtype and shape (layouts in {@link TensorCodecs}); the manifest
 * names the message type. It implements {@link ByteBufferSerializer}, so Artery writes tensors straight
 * into its envelope buffer with one copy and reads them back with one copy; a message that does not fit
 * the buffer fails before writing anything, with a {@link FrameTooLargeException}. Typed
 * {@code ActorRef}s travel in Pekko's own string form via {@link ActorRefResolver}. Registered as
 * {@code rlhf-tensor} in this module's {@code reference.conf}.
 */
public final class TensorSerializer extends SerializerWithStringManifest implements ByteBufferSerializer {
  /** The serializer id; fixed forever, as it is written into every envelope. */
  public static final int IDENTIFIER = 741_001;
  /** Version of the binary layout written first in every payload. */
  public static final int FORMAT_VERSION = 2;

  private static final long MAX_ARRAY_BYTES = Integer.MAX_VALUE - 8L;

  private final RefFormat refs;

  /** Called by Pekko's serialization extension. */
  public TensorSerializer(ExtendedActorSystem system) {
    ActorRefResolver resolver = ActorRefResolver.get(Adapter.toTyped(system));
    this.refs = new RefFormat() {
      @Override
      public String format(ActorRef<?> ref) {
        return resolver.toSerializationFormat(ref);
      }

      @Override
      public <T> ActorRef<T> resolve(String serialized) {
        return resolver.resolveActorRef(serialized);
      }
    };
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    return codecFor(o).manifest();
  }

  /** The exact number of bytes {@link #toBinary(Object)} produces for {@code message}. */
  public long serializedSize(Object message) {
    WireWriter counter = WireWriter.counting(refs).u16(FORMAT_VERSION);
    codecFor(message).write(message, counter);
    return counter.count();
  }

  @Override
  public byte[] toBinary(Object o) {
    long size = serializedSize(o);
    if (size > MAX_ARRAY_BYTES) {
      throw new FrameTooLargeException(o.getClass().getSimpleName(), size, MAX_ARRAY_BYTES, "a Java byte array");
    }
    ByteBuffer buf = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
    write(o, buf, size);
    return buf.array();
  }

  @Override
  public void toBinary(Object o, ByteBuffer buf) {
    long size = serializedSize(o);
    if (size > buf.remaining()) {
      throw new FrameTooLargeException(o.getClass().getSimpleName(), size, buf.remaining(),
          "the Artery envelope buffer");
    }
    ByteOrder order = buf.order();
    try {
      write(o, buf.order(ByteOrder.LITTLE_ENDIAN), size);
    } finally {
      buf.order(order);
    }
  }

  private void write(Object o, ByteBuffer buf, long expectedSize) {
    int start = buf.position();
    WireWriter w = WireWriter.into(buf, refs).u16(FORMAT_VERSION);
    codecFor(o).write(o, w);
    if (buf.position() - start != expectedSize) {
      throw new IllegalStateException(o.getClass().getSimpleName() + ": wrote " + (buf.position() - start)
          + " bytes but counted " + expectedSize);
    }
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    Object message = read(buf, manifest);
    if (buf.hasRemaining()) {
      throw new IllegalArgumentException(manifest + ": corrupt payload: " + buf.remaining() + " trailing bytes");
    }
    return message;
  }

  @Override
  public Object fromBinary(ByteBuffer buf, String manifest) throws NotSerializableException {
    ByteOrder order = buf.order();
    try {
      return read(buf.order(ByteOrder.LITTLE_ENDIAN), manifest);
    } finally {
      buf.order(order);
    }
  }

  private Object read(ByteBuffer buf, String manifest) throws NotSerializableException {
    TensorCodecs.Codec<?> codec = TensorCodecs.forManifest(manifest);
    if (codec == null) {
      throw new NotSerializableException("TensorSerializer: unknown manifest '" + manifest + "'");
    }
    WireReader r = new WireReader(buf, refs, manifest);
    int version = r.u16("format version");
    if (version != FORMAT_VERSION) {
      throw new NotSerializableException(manifest + ": format version " + version + ", this build reads "
          + FORMAT_VERSION);
    }
    return codec.read(r);
  }

  private static TensorCodecs.Codec<?> codecFor(Object o) {
    TensorCodecs.Codec<?> codec = o == null ? null : TensorCodecs.forClass(o.getClass());
    if (codec == null) {
      throw new IllegalArgumentException("TensorSerializer cannot serialize "
          + (o == null ? "null" : o.getClass().getName()) + "; it handles " + TensorCodecs.ALL.stream()
          .map(TensorCodecs.Codec::manifest).toList());
    }
    return codec;
  }
}
