package org.rlhfnode.runtime.transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.PrefixStore;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * A libtorch c10d process group on the Gloo backend (CPU tensors over TCP), used to broadcast weight bytes
 * from rank 0 to every other rank. Rank 0 hosts a {@code TCPStore} ({@link Host}), through which the ranks
 * find each other; the others {@link #join} it by host and port. Measured on loopback (see
 * {@code docs/performance.md}): {@code TCPStore} works from Java, server and client, on a fixed port or on
 * port 0 (the server reports the port it got), so no shared file system ({@code FileStore}) is needed.
 *
 * <p>One {@link Host} can form several groups in turn, each under its own generation (a store key prefix);
 * the current generation is published in the store, so a rank can tell whether its group is still the one
 * rank 0 uses ({@link #isCurrent()}).
 *
 * <p>Every call blocks (joining waits for all ranks, a broadcast for the data); run them on an executor of
 * your own. Errors are {@link GlooException}s naming the store's host:port.
 */
public final class GlooGroup implements AutoCloseable {
  private static final String GENERATION_KEY = "rlhf/weight_sync/generation";

  private final String storeHost;
  private final int storePort;
  private final int rank;
  private final int worldSize;
  private final long generation;
  private final Store store; // shared handle of the TCP store (client or server); a Host closes its own
  private final boolean ownsStore;
  private final ProcessGroupGloo group;

  private GlooGroup(String storeHost, int storePort, int rank, int worldSize, long generation, Store store,
      boolean ownsStore, ProcessGroupGloo group) {
    this.storeHost = storeHost;
    this.storePort = storePort;
    this.rank = rank;
    this.worldSize = worldSize;
    this.generation = generation;
    this.store = store;
    this.ownsStore = ownsStore;
    this.group = group;
  }

  /** A c10d failure (store unreachable, a rank that never joined, a broadcast that failed or timed out). */
  public static final class GlooException extends RuntimeException {
    GlooException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Rank 0's side: a {@code TCPStore} server listening on {@code host:port} ({@code port} 0 = any free port)
   * before anyone joins, so that its address can be handed to the other ranks first.
   */
  public static final class Host implements AutoCloseable {
    private final String host;
    private final Store store; // shared handle of the TCPStore server
    private final int port;
    private final Duration timeout;
    private long generation;

    private Host(String host, TCPStore server, Duration timeout) {
      this.host = host;
      this.port = Short.toUnsignedInt(server.getPort());
      this.store = shared(server);
      this.timeout = timeout;
    }

    /** Starts the store server; {@code timeout} bounds every later join and collective. */
    public static Host listen(String host, int port, Duration timeout) {
      checkPort(port, true);
      TCPStoreOptions options = new TCPStoreOptions().port((short) port).isServer(true).waitWorkers(false)
          .timeout(millis(timeout));
      try {
        return new Host(host, new TCPStore(host, options), timeout);
      } catch (RuntimeException e) {
        throw new GlooException("cannot start the c10d TCP store on " + host + ":" + port + ": " + firstLine(e), e);
      }
    }

    /** The store's host as given. */
    public String host() {
      return host;
    }

    /** The port the store listens on (the one it got, for port 0). */
    public int port() {
      return port;
    }

    /**
     * Publishes the next generation in the store. Call it before handing the address to the other ranks,
     * then {@link #form}: a rank that joins reads the generation to know which group it joins.
     */
    public synchronized long nextGeneration() {
      generation++;
      store.set(GENERATION_KEY, Long.toString(generation));
      return generation;
    }

    /** Rank 0 of the current generation's group of {@code worldSize}; blocks until every rank has joined. */
    public synchronized GlooGroup form(int worldSize) {
      if (generation == 0) {
        throw new IllegalStateException("call nextGeneration() before form()");
      }
      return connect(host, port, worldSize, 0, generation, store, false, timeout);
    }

    /** Stops the store server; groups formed from it stop working. */
    @Override
    public void close() {
      store.releaseReference();
    }
  }

  /**
   * Joins, as {@code rank} (≥ 1) of {@code worldSize}, the current group of the rank 0 whose store listens
   * on {@code host:port}; blocks until every rank has joined or {@code timeout} passes.
   */
  public static GlooGroup join(String host, int port, int worldSize, int rank, Duration timeout) {
    checkPort(port, false);
    if (rank < 1 || rank >= worldSize) {
      throw new IllegalArgumentException("rank " + rank + " is outside [1, " + worldSize + "); rank 0 uses Host");
    }
    TCPStoreOptions options = new TCPStoreOptions().port((short) port).isServer(false).timeout(millis(timeout));
    Store store;
    try {
      store = shared(new TCPStore(host, options));
    } catch (RuntimeException e) {
      throw new GlooException("cannot reach the c10d TCP store at " + host + ":" + port + " within "
          + timeout.toMillis() + " ms: " + firstLine(e), e);
    }
    try {
      long generation = Long.parseLong(store.get_to_str(GENERATION_KEY));
      return connect(host, port, worldSize, rank, generation, store, true, timeout);
    } catch (RuntimeException e) {
      store.releaseReference();
      throw e instanceof GlooException ? e : new GlooException("joining the gloo group at " + host + ":" + port
          + " as rank " + rank + " of " + worldSize + " failed: " + firstLine(e), e);
    }
  }

  private static GlooGroup connect(String host, int port, int worldSize, int rank, long generation, Store store,
      boolean ownsStore, Duration timeout) {
    if (worldSize < 2) {
      throw new IllegalArgumentException("a gloo group needs at least 2 ranks, got " + worldSize);
    }
    ProcessGroupGloo.Options options = ProcessGroupGloo.Options.create(millis(timeout));
    options.devices().push_back(ProcessGroupGloo.createDeviceForHostname(localAddressTowards(host)));
    PrefixStore scoped = new PrefixStore("g" + generation + "/", store);
    try {
      ProcessGroupGloo group = retained(new ProcessGroupGloo(scoped, rank, worldSize, options));
      return new GlooGroup(host, port, rank, worldSize, generation, store, ownsStore, group);
    } catch (RuntimeException e) {
      throw new GlooException("gloo group at " + host + ":" + port + " (generation " + generation + "): rank "
          + rank + " of " + worldSize + " gave up after " + timeout.toMillis()
          + " ms waiting for the other ranks: " + firstLine(e), e);
    } finally {
      handOver(scoped); // the group's intrusive_ptr owns it now (or freed it if the constructor threw)
    }
  }

  /**
   * Broadcasts the bytes of {@code buffer} from rank 0: rank 0's are sent, every other rank's are
   * overwritten. Every rank must call it with a buffer of the same size.
   */
  public void broadcast(PayloadBuffer buffer) {
    Tensor bytes = buffer.tensor();
    try (TensorVector tensors = new TensorVector(bytes); BroadcastOptions options = new BroadcastOptions()) {
      group.broadcast(tensors, options.rootRank(0))._wait();
    } catch (RuntimeException e) {
      throw new GlooException("gloo broadcast of " + buffer.size() + " bytes in the group at " + describe()
          + " failed: " + firstLine(e), e);
    }
  }

  /**
   * Whether rank 0 still uses this group: the store answers and names this group's generation. False when
   * rank 0 has formed a newer group or its store is gone; then {@link #close} this one and join again.
   */
  public boolean isCurrent() {
    try {
      return Long.parseLong(store.get_to_str(GENERATION_KEY)) == generation;
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Whether this group was joined through the store at {@code host:port} as {@code rank} of {@code worldSize}. */
  public boolean matches(String host, int port, int worldSize, int rank) {
    return storeHost.equals(host) && storePort == port && this.worldSize == worldSize && this.rank == rank;
  }

  public int rank() {
    return rank;
  }

  public int worldSize() {
    return worldSize;
  }

  /** {@code host:port generation g, rank r of n}, for messages. */
  public String describe() {
    return storeHost + ":" + storePort + " (generation " + generation + ", rank " + rank + " of " + worldSize + ")";
  }

  /** Leaves the group; a joined rank also drops its store connection. */
  @Override
  public void close() {
    group.releaseReference();
    if (ownsStore) {
      store.releaseReference();
    }
  }

  /** Keeps a native object alive past the caller's {@code PointerScope}, until released explicitly. */
  private static <P extends Pointer> P retained(P p) {
    p.retainReference();
    return p;
  }

  /*
   * Ownership across the JavaCPP boundary. Stores are allocated by a plain C++ `new` when constructed from
   * Java, but libtorch takes them as c10::intrusive_ptr. The presets turn such a Java object into an
   * intrusive_ptr that owns it (refcount 0 -> 1) the first time it is passed; passing it a second time aborts
   * the JVM ("Newly-created target had non-zero refcounts"), and once libtorch drops its last reference the
   * object is deleted under Java's feet. So a Java-constructed store is passed exactly once and then handed
   * over; objects that libtorch returns as intrusive_ptr (getUnderlyingNonPrefixStore, ProcessGroupGloo's
   * make_intrusive constructor) carry a proper reference and may be passed any number of times.
   */

  /** A shared (intrusive_ptr) handle of a store just constructed from Java; use only the handle afterwards. */
  private static Store shared(Store constructedInJava) {
    PrefixStore anchor = new PrefixStore("", constructedInJava);
    handOver(constructedInJava);
    Store handle = retained(anchor.getUnderlyingNonPrefixStore());
    anchor.deallocate();
    return handle;
  }

  /** Java never frees {@code p} again (neither a PointerScope nor the GC): libtorch owns it now. */
  private static void handOver(Pointer p) {
    p.retainReference();
    p.deallocate(false);
  }

  /** The local address this host uses to reach {@code host} (no packet is sent), for Gloo's device. */
  static String localAddressTowards(String host) {
    try (DatagramSocket probe = new DatagramSocket()) {
      probe.connect(new InetSocketAddress(InetAddress.getByName(host), 9));
      InetAddress local = probe.getLocalAddress();
      return local.isAnyLocalAddress() ? InetAddress.getLocalHost().getHostAddress() : local.getHostAddress();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a local address towards " + host + ": " + e.getMessage(), e);
    }
  }

  private static void checkPort(int port, boolean zeroAllowed) {
    if (port < (zeroAllowed ? 0 : 1) || port > 65_535) {
      throw new IllegalArgumentException("store port " + port + " is not a TCP port");
    }
  }

  private static Milliseconds millis(Duration d) {
    Objects.requireNonNull(d, "timeout");
    return new Milliseconds(d.toMillis());
  }

  /** libtorch messages carry a C++ backtrace after the first line. */
  private static String firstLine(RuntimeException e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
