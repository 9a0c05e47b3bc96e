package org.rlhfnode.node.sync;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import org.rlhfnode.messages.FrameGuard;

/**
 * How weights move from the {@link WeightPublisher} to the {@link WeightReceiver}s, read once from
 * {@code rlhf.weight_sync} in {@code reference.conf} (see there for each key) and handed to the actors.
 *
 * @param transport artery (chunks) or gloo (c10d broadcast)
 * @param chunkWindow artery: chunks in flight per receiver
 * @param ackTimeout artery: a chunk not acknowledged within this is sent again
 * @param maxRetries artery: resends of one chunk before the publish fails
 * @param chunkGuard artery: the lane's frame limits, which decide the chunk size
 * @param installTimeout how long a receiver may take to report the version installed once it has the bytes
 * @param glooHost gloo: address the TCP store binds; blank = the actor system's own host
 * @param glooPort gloo: TCP store port (0 = any free port)
 * @param glooTimeout gloo: bound on joining the group and on each broadcast
 */
public record WeightSyncSettings(Transport transport, int chunkWindow, Duration ackTimeout, int maxRetries,
    FrameGuard chunkGuard, Duration installTimeout, String glooHost, int glooPort, Duration glooTimeout) {

  /** The two ways of moving a payload. */
  public enum Transport {
    /** {@code WeightUpdate} + checksummed {@code WeightChunk}s over Pekko Artery, acked, with resends. */
    ARTERY,
    /** {@code CollectiveRendezvous}, then one libtorch c10d broadcast on the Gloo backend. */
    GLOO;

    /** {@code artery} or {@code gloo}, case-insensitive. */
    public static Transport parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("weight_sync_transport must be artery or gloo, got '" + s + "'");
      }
    }

    /** The lower-case name used in config and replies. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private static final String SECTION = "rlhf.weight_sync.";

  /** Checks the fields; an error names the config key. */
  public WeightSyncSettings {
    Objects.requireNonNull(transport, "weight_sync_transport");
    positive(chunkWindow, "weight_chunk_window");
    positive(ackTimeout, "weight_ack_timeout_ms");
    if (maxRetries < 0) {
      throw new IllegalArgumentException("weight_max_retries must be >= 0, got " + maxRetries);
    }
    Objects.requireNonNull(chunkGuard, "chunkGuard");
    positive(installTimeout, "weight_install_timeout_ms");
    Objects.requireNonNull(glooHost, "gloo_host");
    if (glooPort < 0 || glooPort > 65_535) {
      throw new IllegalArgumentException("gloo_port must be a TCP port or 0, got " + glooPort);
    }
    positive(glooTimeout, "gloo_timeout_ms");
  }

  private static void positive(long v, String key) {
    if (v <= 0) {
      throw new IllegalArgumentException(key + " must be > 0, got " + v);
    }
  }

  private static void positive(Duration d, String key) {
    positive(Objects.requireNonNull(d, key).toMillis(), key);
  }

  /** Reads {@code rlhf.weight_sync} and the Artery frame sizes from an actor system's config. */
  public static WeightSyncSettings fromConfig(Config config) {
    boolean largeLane = config.getBoolean(SECTION + "weight_large_lane");
    return new WeightSyncSettings(
        Transport.parse(config.getString(SECTION + "weight_sync_transport")),
        config.getInt(SECTION + "weight_chunk_window"),
        millis(config, "weight_ack_timeout_ms"),
        config.getInt(SECTION + "weight_max_retries"),
        largeLane ? FrameGuard.largeLane(config) : FrameGuard.ordinaryLane(config),
        millis(config, "weight_install_timeout_ms"),
        config.getString(SECTION + "gloo_host"),
        config.getInt(SECTION + "gloo_port"),
        millis(config, "gloo_timeout_ms"));
  }

  /** The defaults of every {@code reference.conf} on the class path. */
  public static WeightSyncSettings reference() {
    return fromConfig(ConfigFactory.defaultReference());
  }

  private static Duration millis(Config config, String key) {
    return Duration.ofMillis(config.getLong(SECTION + key));
  }
}
