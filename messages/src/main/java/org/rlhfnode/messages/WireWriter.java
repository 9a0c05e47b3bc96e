package org.rlhfnode.messages;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Writes the fields of a tensor message, little-endian. Without a buffer it only counts bytes, which
 * gives a message's exact serialized size from the same code that writes it.
 */
final class WireWriter {
  private final ByteBuffer buf;
  private final RefFormat refs;
  private long count;

  private WireWriter(ByteBuffer buf, RefFormat refs) {
    this.buf = buf;
    this.refs = refs;
  }

  /** A writer that only counts. */
  static WireWriter counting(RefFormat refs) {
    return new WireWriter(null, refs);
  }

  /** A writer into {@code buf} from its position; the caller has set little-endian order. */
  static WireWriter into(ByteBuffer buf, RefFormat refs) {
    if (buf.order() != ByteOrder.LITTLE_ENDIAN) {
      throw new IllegalStateException("WireWriter needs a little-endian buffer");
    }
    return new WireWriter(buf, refs);
  }

  /** Bytes written (or counted) so far. */
  long count() {
    return count;
  }

  WireWriter u8(int v) {
    count += 1;
    if (buf != null) {
      buf.put((byte) v);
    }
    return this;
  }

  WireWriter u16(int v) {
    count += 2;
    if (buf != null) {
      buf.putShort((short) v);
    }
    return this;
  }

  WireWriter i32(int v) {
    count += 4;
    if (buf != null) {
      buf.putInt(v);
    }
    return this;
  }

  WireWriter i64(long v) {
    count += 8;
    if (buf != null) {
      buf.putLong(v);
    }
    return this;
  }

  WireWriter string(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    i32(utf8.length);
    count += utf8.length;
    if (buf != null) {
      buf.put(utf8);
    }
    return this;
  }

  WireWriter ref(ActorRef<?> ref) {
    return string(refs.format(ref));
  }

  /** i64 lineage, i32 iteration, string kind, i32 part. */
  WireWriter requestId(RequestId id) {
    return i64(id.lineage()).i32(id.iteration()).string(id.kind().name()).i32(id.part());
  }

  /** An enum constant by name. */
  WireWriter constant(Enum<?> value) {
    return string(value.name());
  }

  /** Length-prefixed raw bytes: the remaining bytes of {@code bytes}, whose position is not moved. */
  WireWriter bytes(ByteBuffer bytes) {
    i32(bytes.remaining());
    return raw(bytes);
  }

  private WireWriter raw(ByteBuffer bytes) {
    count += bytes.remaining();
    if (buf != null) {
      buf.put(bytes.duplicate());
    }
    return this;
  }

  /** dtype code, rank, shape, then the raw element bytes. */
  WireWriter tensor(WireTensor t) {
    u8(t.wireDType().wireCode());
    u8(t.rank());
    for (long d : t.shape()) {
      i64(d);
    }
    return raw(t.data());
  }

  /** Count, then (name, tensor) pairs sorted by name. */
  WireWriter tensors(TensorMap map) {
    i32(map.size());
    for (String name : map.names()) {
      string(name);
      tensor(map.require(name));
    }
    return this;
  }
}
