package org.rlhfnode.messages;

import com.typesafe.config.Config;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.Serializer;

/**
 * Keeps messages inside an Artery frame. Artery silently drops (with one ERROR log) a message larger
 * than its frame: {@code maximum-frame-size} (256 KiB by default) on the ordinary lanes and
 * {@code maximum-large-frame-size} (2 MiB) on the large-message lane, which only recipients listed in
 * {@code large-message-destinations} use. A guard is built for one lane; it leaves
 * {@code envelopeHeadroom} bytes for Artery's envelope (header, literal actor paths, manifest), checks a
 * message's serialized size against what is left, and cuts a byte payload into chunks that also leave
 * {@code chunkHeaderReserve} bytes for a {@link WeightChunk}'s own fields and reply path.
 */
public final class FrameGuard {
  /** Artery's default {@code maximum-frame-size}, used when the config has no Artery section. */
  public static final long ARTERY_DEFAULT_FRAME_BYTES = 256L * 1024;
  /** Artery's default {@code maximum-large-frame-size}, used when the config has no Artery section. */
  public static final long ARTERY_DEFAULT_LARGE_FRAME_BYTES = 2L * 1024 * 1024;

  private static final String ARTERY = "pekko.remote.artery.advanced.";
  private static final String SETTINGS = "rlhf.messages.frame_guard.";

  private final String lane;
  private final long maxFrameBytes;
  private final long envelopeHeadroom;
  private final long chunkHeaderReserve;

  /**
   * A guard for {@code lane} (named in errors) with frame size {@code maxFrameBytes}.
   *
   * @throws IllegalArgumentException if the headroom and reserve leave no room for a chunk byte
   */
  public FrameGuard(String lane, long maxFrameBytes, long envelopeHeadroom, long chunkHeaderReserve) {
    this.lane = Checks.nonBlank(lane, "FrameGuard", "lane");
    this.maxFrameBytes = maxFrameBytes;
    this.envelopeHeadroom = Checks.nonNegative(envelopeHeadroom, "FrameGuard", "envelopeHeadroom");
    this.chunkHeaderReserve = Checks.nonNegative(chunkHeaderReserve, "FrameGuard", "chunkHeaderReserve");
    if (maxFrameBytes - envelopeHeadroom - chunkHeaderReserve < 1) {
      throw new IllegalArgumentException("FrameGuard " + lane + ": frame " + maxFrameBytes + " bytes leaves no room"
          + " after envelopeHeadroom " + envelopeHeadroom + " and chunkHeaderReserve " + chunkHeaderReserve);
    }
  }

  /** The guard for Artery's ordinary lanes ({@code maximum-frame-size}), headroom from {@code rlhf.messages}. */
  public static FrameGuard ordinaryLane(Config config) {
    return fromConfig(config, "ordinary lane (maximum-frame-size)", "maximum-frame-size", ARTERY_DEFAULT_FRAME_BYTES);
  }

  /** The guard for Artery's large-message lane ({@code maximum-large-frame-size}). */
  public static FrameGuard largeLane(Config config) {
    return fromConfig(config, "large-message lane (maximum-large-frame-size)", "maximum-large-frame-size",
        ARTERY_DEFAULT_LARGE_FRAME_BYTES);
  }

  private static FrameGuard fromConfig(Config config, String lane, String key, long defaultBytes) {
    long frame = config.hasPath(ARTERY + key) ? config.getBytes(ARTERY + key) : defaultBytes;
    return new FrameGuard(lane, frame, config.getBytes(SETTINGS + "envelope_headroom"),
        config.getBytes(SETTINGS + "chunk_header_reserve"));
  }

  /** Artery's frame size for this lane. */
  public long maxFrameBytes() {
    return maxFrameBytes;
  }

  /** The largest serialized message this lane accepts: the frame minus the envelope headroom. */
  public long maxMessageBytes() {
    return maxFrameBytes - envelopeHeadroom;
  }

  /** The largest chunk payload: {@link #maxMessageBytes()} minus the chunk header reserve. */
  public int maxChunkPayloadBytes() {
    return Math.toIntExact(maxMessageBytes() - chunkHeaderReserve);
  }

  /** How many chunks {@link #split} makes of {@code payloadBytes} bytes (at least 1). */
  public int chunkCount(long payloadBytes) {
    Checks.nonNegative(payloadBytes, "FrameGuard", "payloadBytes");
    long max = maxChunkPayloadBytes();
    return Math.toIntExact(Math.max(1, (payloadBytes + max - 1) / max));
  }

  /**
   * The remaining bytes of {@code payload} as read-only slices of at most {@link #maxChunkPayloadBytes()}
   * bytes, in order, sharing its content; its position is not moved. An empty payload gives one empty slice.
   */
  public List<ByteBuffer> split(ByteBuffer payload) {
    ByteBuffer src = payload.asReadOnlyBuffer();
    int count = chunkCount(src.remaining());
    List<ByteBuffer> parts = new ArrayList<>(count);
    int max = maxChunkPayloadBytes();
    for (int i = 0; i < count; i++) {
      ByteBuffer part = src.slice();
      part.limit(Math.min(max, src.remaining()));
      src.position(src.position() + part.limit());
      parts.add(part);
    }
    return List.copyOf(parts);
  }

  /**
   * Checks that a message of {@code serializedBytes} fits this lane and returns the size.
   *
   * @throws FrameTooLargeException a one-line message with the type and the sizes
   */
  public long check(String messageType, long serializedBytes) {
    if (serializedBytes > maxMessageBytes()) {
      throw new FrameTooLargeException(messageType, serializedBytes, maxMessageBytes(),
          "the Artery " + lane + " (" + maxFrameBytes + "-byte frame minus " + envelopeHeadroom + " headroom)");
    }
    return serializedBytes;
  }

  /**
   * Serializes {@code message} with the serializer Pekko binds to it (tensor messages are only measured)
   * and checks its size; returns the size. Goes through {@link Serialization#serialize} rather than the
   * serializer itself because Jackson needs the transport information it sets to write actor references.
   *
   * @throws FrameTooLargeException a one-line message with the type and the sizes
   */
  public long check(Object message, Serialization serialization) {
    Serializer serializer = serialization.findSerializerFor(message);
    long size = serializer instanceof TensorSerializer tensors
        ? tensors.serializedSize(message)
        : serialization.serialize(message).get().length;
    return check(message.getClass().getSimpleName(), size);
  }

  @Override
  public String toString() {
    return "FrameGuard[" + lane + ", frame " + maxFrameBytes + ", headroom " + envelopeHeadroom
        + ", chunk reserve " + chunkHeaderReserve + "]";
  }
}
