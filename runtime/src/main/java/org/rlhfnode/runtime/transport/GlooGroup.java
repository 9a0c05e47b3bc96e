package org.rlhfnode.runtime.transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.rlhfnode.runtime.dist.Collectives;

/**
 * A libtorch c10d process group on the Gloo backend (CPU tensors over TCP), used to broadcast weight bytes
 * from rank 0 to every other rank. Rank 0 hosts a {@code TCPStore} ({@link Host}) through which the ranks
 * find each other; the others {@link #join} it by host and port. Measured here: {@code TCPStore} works
 * from Java as server and client, on a fixed port or on port 0 (the server reports the port it got), so
 * no shared file system ({@code FileStore}) is needed.
 *
 * <p>A {@link Host} serves one group. For a new group (other members) close both and listen again: the
 * old store going away releases any rank still waiting in it, and every host publishes a token in its
 * store, so a rank can tell whether its group is still the one rank 0 serves ({@link #isCurrent()}).
 *
 * <p>Every call blocks (joining waits for all ranks, a broadcast for the data); run them on an executor of
 * your own. Errors are {@link GlooException}s naming the store's host:port.
 */
public final class GlooGroup implements AutoCloseable {
  private static final String TOKEN_KEY = "rlhf/weight_sync/host";
  /**
   * Least time a new store server gets to connect to itself: c10d's client retries a failed first connect
   * after a random delay, and about 4% of server starts measured here needed up to 5 s for that.
   */
  private static final Duration SERVER_START = Duration.ofSeconds(10);

  private final String storeHost;
  private final int storePort;
  private final int rank;
  private final int worldSize;
  private final String token;
  private final Store store; // a store client owned through an intrusive_ptr (see #client)
  private final ProcessGroupGloo group;

  private GlooGroup(String storeHost, int storePort, int rank, int worldSize, String token, Store store,
      ProcessGroupGloo group) {
    this.storeHost = storeHost;
    this.storePort = storePort;
    this.rank = rank;
    this.worldSize = worldSize;
    this.token = token;
    this.store = store;
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
    private final TCPStore server; // constructed here and never handed to libtorch, so close() really stops it
    private final StoreGate gate;
    private final Duration timeout;
    private final String token = UUID.randomUUID().toString();
    private final RendezvousSecret secret;
    private boolean formed; // guarded by lock
    private final Object lock = new Object();
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private Host(String host, GatedStore.Server server, RendezvousSecret secret, Duration timeout) {
      this.host = host;
      this.server = retained(server.store());
      this.gate = server.gate();
      this.secret = secret;
      this.timeout = timeout;
      this.server.set(TOKEN_KEY, token);
    }

    /**
     * Starts the store server behind its gate ({@link GatedStore}): only {@code host}'s address is listened
     * on, and only holders of {@link #secret()} get through; {@code timeout} bounds the join and every
     * collective of its group.
     */
    public static Host listen(String host, int port, Duration timeout) {
      checkPort(port, true);
      Duration start = timeout.compareTo(SERVER_START) > 0 ? timeout : SERVER_START;
      RendezvousSecret secret = RendezvousSecret.fresh();
      GatedStore.Server started = null;
      try {
        started = GatedStore.start(host, port, secret, start);
        return new Host(host, started, secret, timeout);
      } catch (RuntimeException e) {
        if (started != null) {
          started.gate().close();
          started.store().deallocate();
        }
        throw new GlooException("cannot start the c10d TCP store on " + host + ":" + port + ": " + firstLine(e), e);
      }
    }

    /** The secret every rank of this host's group must prove; hand it to them over the cluster connection only. */
    public RendezvousSecret secret() {
      return secret;
    }

    /** The store's host as given. */
    public String host() {
      return host;
    }

    /** The port the store's gate listens on (the one it got, for port 0). */
    public int port() {
      return gate.port();
    }

    /** Rank 0 of this host's group of {@code worldSize}; blocks until every rank has joined. Once per host. */
    public GlooGroup form(int worldSize) {
      Store client;
      synchronized (lock) {
        if (formed) {
          throw new IllegalStateException("this host has formed its group; listen again for another");
        }
        formed = true;
        client = newClient();
      }
      return connect(host, port(), worldSize, 0, token, secret, client, timeout);
    }

    /** A new client of this host's store, owned by the caller (for a group of another backend: NCCL). */
    public Store newClient() {
      synchronized (lock) { // never clones a store that close() is freeing on another rank's thread
        if (closed.get()) {
          throw new GlooException("the c10d TCP store on " + host + ":" + port() + " is closed (a rank failed)", null);
        }
        return client(server, timeout);
      }
    }

    /** Stops the store server: ranks still waiting in it fail at once. Close the group first. */
    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) { // idempotent: a failing rank may close it before its owner
        gate.close();
        synchronized (lock) {
          server.releaseReference();
        }
      }
    }
  }

  /**
   * Joins, as {@code rank} (≥ 1) of {@code worldSize}, the group of the rank 0 whose store listens on
   * {@code host:port} and whose rendezvous secret is {@code secret}; blocks until every rank has joined
   * and proved the secret, or {@code timeout} passes.
   */
  public static GlooGroup join(String host, int port, RendezvousSecret secret, int worldSize, int rank,
      Duration timeout) {
    checkPort(port, false);
    if (rank < 1 || rank >= worldSize) {
      throw new IllegalArgumentException("rank " + rank + " is outside [1, " + worldSize + "); rank 0 uses Host");
    }
    Store store = storeClient(host, port, secret, timeout);
    String token;
    try {
      token = store.get_to_str(TOKEN_KEY);
    } catch (RuntimeException e) {
      store.releaseReference();
      throw new GlooException("the c10d TCP store at " + host + ":" + port + " is not a weight-sync host: "
          + firstLine(e), e);
    }
    return connect(host, port, worldSize, rank, token, secret, store, timeout);
  }

  /**
   * A client of the store at {@code host:port} (through its gate, with {@code secret}) that libtorch may
   * hold, for a group of another backend (NCCL); the caller releases it.
   */
  public static Store storeClient(String host, int port, RendezvousSecret secret, Duration timeout) {
    checkPort(port, false);
    try {
      return GatedStore.connect(host, port, secret, timeout, first -> client(first, timeout));
    } catch (RuntimeException | IOException e) {
      String m = e instanceof RuntimeException r ? firstLine(r) : e.getMessage();
      throw new GlooException("cannot reach the c10d TCP store at " + host + ":" + port + " within "
          + timeout.toMillis() + " ms: " + m, e);
    }
  }

  /** Takes ownership of {@code store} (released if joining fails); returns only a group whose ranks proved {@code secret}. */
  private static GlooGroup connect(String host, int port, int worldSize, int rank, String token,
      RendezvousSecret secret, Store store, Duration timeout) {
    if (worldSize < 2) {
      store.releaseReference();
      throw new IllegalArgumentException("a gloo group needs at least 2 ranks, got " + worldSize);
    }
    ProcessGroupGloo.Options options = ProcessGroupGloo.Options.create(millis(timeout));
    options.devices().push_back(ProcessGroupGloo.createDeviceForHostname(localAddressTowards(host)));
    ProcessGroupGloo group;
    QuietStdout.begin(); // Gloo announces each connection on standard output
    try {
      group = retained(new ProcessGroupGloo(store, rank, worldSize, options));
    } catch (RuntimeException e) {
      store.releaseReference();
      throw new GlooException("gloo group at " + host + ":" + port + ": rank " + rank + " of " + worldSize
          + " failed while waiting for the other ranks (timeout " + timeout.toMillis() + " ms): " + firstLine(e), e);
    } finally {
      QuietStdout.end();
    }
    GlooGroup joined = new GlooGroup(host, port, rank, worldSize, token, store, group);
    try {
      secret.prove(joined.collectives(), joined.describe());
      return joined;
    } catch (RuntimeException e) {
      joined.close();
      throw e;
    }
  }

  /**
   * Broadcasts the bytes of {@code buffer} from rank 0: rank 0's are sent, every other rank's are
   * overwritten. Every rank must call it with a buffer of the same size.
   */
  public void broadcast(PayloadBuffer buffer) {
    try (TensorVector tensors = new TensorVector(buffer.tensor());
        BroadcastOptions options = new BroadcastOptions().rootRank(0);
        Work work = group.broadcast(tensors, options)) {
      work._wait();
    } catch (RuntimeException e) {
      throw new GlooException("gloo broadcast of " + buffer.size() + " bytes in the group at " + describe()
          + " failed: " + firstLine(e), e);
    }
  }

  /**
   * Whether rank 0 still serves this group: its store answers with the token this group was joined with.
   * False when rank 0 has closed it (and perhaps listens again for a new group); then close and join again.
   */
  public boolean isCurrent() {
    try {
      return token.equals(store.get_to_str(TOKEN_KEY));
    } catch (RuntimeException e) {
      return false;
    }
  }

  /**
   * The general collectives (all-reduce, all-gather, reduce-scatter, …) over this group, valid until
   * {@link #close()}.
   */
  public Collectives collectives() {
    return Collectives.over(group, rank, worldSize);
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

  /** {@code host:port (rank r of n)}, for messages. */
  public String describe() {
    return storeHost + ":" + storePort + " (rank " + rank + " of " + worldSize + ")";
  }

  /** Leaves the group and drops this rank's store connection. */
  @Override
  public void close() {
    group.releaseReference();
    store.releaseReference();
  }

  /*
   * Ownership across the JavaCPP boundary. A store constructed from Java is a plain C++ `new`, but libtorch
   * takes stores as c10::intrusive_ptr: the presets wrap such an object into an intrusive_ptr when it is
   * passed, which keeps one reference too many (it is never freed by libtorch; deleting it from Java while a
   * group still uses it corrupts the heap), and passing it a second time aborts the JVM ("Newly-created
   * target had non-zero refcounts"). TCPStore.clone() returns a new client connection as a proper
   * intrusive_ptr, which libtorch and Java share safely. So Java-constructed stores are never passed to
   * libtorch: groups get clones, and the server object stays Java's alone, to stop on close().
   */

  /**
   * A client of {@code store}'s server that libtorch may hold: it connects within {@code store}'s own timeout
   * (a host's is at least {@link #SERVER_START}), then waits at most {@code timeout}.
   */
  private static Store client(TCPStore store, Duration timeout) {
    Store clone = retained(store.clone());
    clone.setTimeout(millis(timeout));
    return clone;
  }

  /** Keeps a native object alive past the caller's {@code PointerScope}, until released explicitly. */
  private static <P extends Pointer> P retained(P p) {
    p.retainReference();
    return p;
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
  static String firstLine(RuntimeException e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
