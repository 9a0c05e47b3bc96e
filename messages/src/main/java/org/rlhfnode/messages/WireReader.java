package org.rlhfnode.messages;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Reads what {@link WireWriter} wrote. Every length is checked against the bytes left, so a truncated
 * or corrupt payload fails with a message naming the field instead of allocating garbage.
 */
final class WireReader {
  private final ByteBuffer buf;
  private final RefFormat refs;
  private final String type;

  /** A reader of {@code buf} from its position; the caller has set little-endian order. */
  WireReader(ByteBuffer buf, RefFormat refs, String type) {
    if (buf.order() != ByteOrder.LITTLE_ENDIAN) {
      throw new IllegalStateException("WireReader needs a little-endian buffer");
    }
    this.buf = buf;
    this.refs = refs;
    this.type = type;
  }

  /** Bytes not read yet. */
  int remaining() {
    return buf.remaining();
  }

  private void need(long n, String what) {
    if (n < 0 || n > buf.remaining()) {
      throw new IllegalArgumentException(type + ": truncated or corrupt payload: " + what + " needs " + n
          + " bytes, " + buf.remaining() + " left");
    }
  }

  int u8(String what) {
    need(1, what);
    return buf.get() & 0xFF;
  }

  int u16(String what) {
    need(2, what);
    return buf.getShort() & 0xFFFF;
  }

  int i32(String what) {
    need(4, what);
    return buf.getInt();
  }

  long i64(String what) {
    need(8, what);
    return buf.getLong();
  }

  String string(String what) {
    int n = i32(what);
    need(n, what);
    byte[] utf8 = new byte[n];
    buf.get(utf8);
    return new String(utf8, StandardCharsets.UTF_8);
  }

  <T> ActorRef<T> ref(String what) {
    return refs.resolve(string(what));
  }

  RequestId requestId(String what) {
    long lineage = i64(what + ".lineage");
    int iteration = i32(what + ".iteration");
    RequestId.Kind kind = constant(RequestId.Kind.class, what + ".kind");
    return new RequestId(lineage, iteration, kind, i32(what + ".part"));
  }

  <E extends Enum<E>> E constant(Class<E> type, String what) {
    String name = string(what);
    try {
      return Enum.valueOf(type, name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(this.type + ": corrupt payload: " + what + " '" + name + "' is not a "
          + type.getSimpleName());
    }
  }

  /** Length-prefixed raw bytes as a slice of the input; the consumer copies them. */
  ByteBuffer bytes(String what) {
    return slice(i32(what), what);
  }

  private ByteBuffer slice(long n, String what) {
    need(n, what);
    ByteBuffer s = buf.slice();
    s.limit((int) n);
    buf.position(buf.position() + (int) n);
    return s;
  }

  WireTensor tensor(String what) {
    WireDType dtype = WireDType.fromWireCode(u8(what + " dtype"));
    long[] shape = new long[u8(what + " rank")];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = i64(what + " shape");
      if (shape[i] < 0) {
        throw new IllegalArgumentException(type + ": corrupt payload: " + what + " has a negative dimension");
      }
    }
    long size;
    try {
      size = Shapes.byteSize(shape, dtype);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(type + ": corrupt payload: " + what + " size overflows", e);
    }
    return new WireTensor(dtype.name(), shape, slice(size, what + " data"));
  }

  TensorMap tensors(String what) {
    int n = i32(what + " count");
    if (n < 0) {
      throw new IllegalArgumentException(type + ": corrupt payload: " + what + " count " + n);
    }
    Map<String, WireTensor> m = new HashMap<>();
    for (int i = 0; i < n; i++) {
      String name = string(what + " name");
      if (m.put(name, tensor(what + " '" + name + "'")) != null) {
        throw new IllegalArgumentException(type + ": corrupt payload: tensor '" + name + "' appears twice");
      }
    }
    return new TensorMap(m);
  }
}
