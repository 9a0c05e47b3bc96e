package org.rlhfnode.runtime.transport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The only door to a c10d {@code TCPStore}: the store itself listens on loopback only, and this gate
 * listens on the cluster address, lets in a connection only after it answered a challenge with the
 * group's {@link RendezvousSecret}, and then relays its bytes to the store unchanged. libtorch's store
 * clients cannot answer a challenge, so a rank reaches a remote store through a {@link Tunnel}: a
 * loopback listener of its own that answers for each connection the rank's store client opens, and
 * stops listening once the client has connected.
 *
 * <pre>
 *   gate → peer:  challenge  (32 random bytes, new per connection)
 *   peer → gate:  HMAC-SHA256(secret, "rlhf-node/store-gate/v1/" ‖ challenge)
 * </pre>
 * A connection that answers wrongly, sends less, or nothing within {@link #PROOF_TIMEOUT}, is closed
 * before it reaches the store, and the refusal is logged once per peer address.
 */
final class StoreGate implements AutoCloseable {
  /** How long a peer has to answer the challenge. */
  static final Duration PROOF_TIMEOUT = Duration.ofSeconds(10);

  private static final Logger LOG = LoggerFactory.getLogger(StoreGate.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int RELAY_BUFFER = 64 * 1024;
  /** Connections that have not answered yet, at most: more are closed at once (a flood costs no threads). */
  static final int MAX_PENDING = 32;

  private final ServerSocket listener;
  private final InetSocketAddress store;
  private final RendezvousSecret secret;
  private final String name;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final Set<InetAddress> refused = ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.Semaphore pending = new java.util.concurrent.Semaphore(MAX_PENDING);

  private StoreGate(ServerSocket listener, InetSocketAddress store, RendezvousSecret secret) {
    this.listener = listener;
    this.store = store;
    this.secret = secret;
    this.name = listener.getInetAddress().getHostAddress() + ":" + listener.getLocalPort();
  }

  /**
   * A gate on {@code address}:{@code port} (0 = any free port) in front of the store listening at
   * {@code store}, admitting holders of {@code secret}.
   */
  static StoreGate open(InetAddress address, int port, InetSocketAddress store, RendezvousSecret secret)
      throws IOException {
    ServerSocket listener = new ServerSocket();
    try {
      listener.setReuseAddress(true);
      listener.bind(new InetSocketAddress(address, port));
    } catch (IOException e) {
      listener.close();
      throw e;
    }
    StoreGate gate = new StoreGate(listener, store, secret);
    daemon("store-gate-" + gate.name, gate::acceptLoop);
    return gate;
  }

  int port() {
    return listener.getLocalPort();
  }

  private void acceptLoop() {
    while (!listener.isClosed()) {
      try {
        Socket peer = listener.accept();
        if (!pending.tryAcquire()) {
          close(peer, open);
          refuse(peer.getInetAddress(), "more than " + MAX_PENDING + " connections were waiting to answer");
          continue;
        }
        open.add(peer);
        if (listener.isClosed()) {
          close(peer, open);
          pending.release();
          return;
        }
        daemon("store-gate-peer", () -> {
          try {
            admit(peer);
          } finally {
            pending.release();
          }
        });
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  /** Challenges {@code peer}; relays it to the store if it answers with the secret, else logs and closes it. */
  private void admit(Socket peer) {
    byte[] challenge = new byte[RendezvousSecret.PROOF_BYTES];
    RANDOM.nextBytes(challenge);
    String why;
    try {
      peer.setSoTimeout((int) PROOF_TIMEOUT.toMillis());
      peer.getOutputStream().write(challenge);
      byte[] answer = peer.getInputStream().readNBytes(RendezvousSecret.PROOF_BYTES);
      if (secret.admits(challenge, answer)) {
        pass(peer);
        return;
      }
      why = answer.length < RendezvousSecret.PROOF_BYTES ? "it hung up before answering the challenge"
          : "its answer to the challenge is not the rendezvous secret's";
    } catch (SocketTimeoutException e) {
      why = "it did not answer the challenge within " + PROOF_TIMEOUT.toSeconds() + " s";
    } catch (IOException e) {
      why = "the connection failed: " + e.getMessage();
    }
    close(peer, open);
    refuse(peer.getInetAddress(), why);
  }

  /** Relays an admitted peer to the store; if the store cannot be reached, the peer's connection just ends. */
  private void pass(Socket peer) {
    Socket inner = null;
    try {
      peer.setSoTimeout(0);
      inner = new Socket(store.getAddress(), store.getPort());
      open.add(inner);
      relay(peer, inner, open);
    } catch (IOException e) {
      LOG.warn("c10d store {}: cannot relay an admitted rank to the store: {}", name, e.getMessage());
      close(peer, open);
      if (inner != null) {
        close(inner, open);
      }
    }
  }

  private void refuse(InetAddress from, String why) {
    if (refused.add(from)) {
      LOG.warn("c10d store {}: refused a connection from {}: {} (a process that is not of this run; later refusals of"
          + " this address are not logged)", name, from.getHostAddress(), why);
    }
  }

  /** Closes the gate and every connection through it. */
  @Override
  public void close() {
    close(listener);
    open.forEach(s -> close(s, open));
  }

  /**
   * A loopback door to the gate at {@code host}:{@code port} for one store client of this process: every
   * connection to {@link #port()} is answered for with {@code secret} and relayed to the gate.
   */
  static final class Tunnel implements AutoCloseable {
    private final ServerSocket listener;
    private final String host;
    private final int port;
    private final RendezvousSecret secret;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    /** Counts down once per accepted connection; at zero the listener is closed. */
    private final java.util.concurrent.CountDownLatch toAccept;


    private Tunnel(ServerSocket listener, String host, int port, RendezvousSecret secret, int connections) {
      this.toAccept = new java.util.concurrent.CountDownLatch(connections);
      this.listener = listener;
      this.host = host;
      this.port = port;
      this.secret = secret;
    }

    /**
     * A tunnel that accepts at most {@code connections} local connections (the store client's own), then
     * stops listening at once, so that no other local process gets in through it.
     */
    static Tunnel to(String host, int port, RendezvousSecret secret, int connections) throws IOException {
      ServerSocket listener = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
      Tunnel t = new Tunnel(listener, host, port, secret, connections);
      daemon("store-tunnel-" + host + ":" + port, t::acceptLoop);
      return t;
    }

    /** The loopback address the store client connects to. */
    String localHost() {
      return listener.getInetAddress().getHostAddress();
    }

    int localPort() {
      return listener.getLocalPort();
    }

    /**
     * Waits (at most {@code wait}) until the tunnel's connections have been accepted, then takes no further
     * ones, so that no other local process can use the tunnel; those made go on. Closing at once instead
     * would reset a connection the kernel has queued but the accept loop not yet taken.
     */
    void stopListeningAfterAccepts(Duration wait) {
      try {
        toAccept.await(wait.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        StoreGate.close(listener);
      }
    }

    private void acceptLoop() {
      while (!listener.isClosed()) {
        try {
          Socket local = listener.accept();
          open.add(local);
          toAccept.countDown();
          if (toAccept.getCount() == 0) {
            StoreGate.close(listener); // every connection of the client is in: take no more
          }
          daemon("store-tunnel-peer", () -> pass(local));
        } catch (IOException e) {
          return;
        }
      }
    }

    private void pass(Socket local) {
      Socket remote = null;
      try {
        remote = new Socket(host, port);
        open.add(remote);
        remote.setSoTimeout((int) PROOF_TIMEOUT.toMillis());
        byte[] challenge = remote.getInputStream().readNBytes(RendezvousSecret.PROOF_BYTES);
        remote.getOutputStream().write(secret.answer(challenge));
        remote.setSoTimeout(0);
        relay(local, remote, open);
      } catch (IOException e) {
        StoreGate.close(local, open); // the store client sees its connection fail and reports it
        if (remote != null) {
          StoreGate.close(remote, open);
        }
      }
    }

    /** Stops listening and ends every relayed connection. */
    @Override
    public void close() {
      StoreGate.close(listener);
      open.forEach(s -> StoreGate.close(s, open));
    }
  }

  /** Copies bytes both ways between {@code a} and {@code b}; when either side ends, both are closed. */
  private static void relay(Socket a, Socket b, Set<Socket> open) throws IOException {
    a.setTcpNoDelay(true);
    b.setTcpNoDelay(true);
    daemon("store-relay", () -> pump(a, b, open));
    daemon("store-relay", () -> pump(b, a, open));
  }

  private static void pump(Socket from, Socket to, Set<Socket> open) {
    byte[] buffer = new byte[RELAY_BUFFER];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int n; (n = in.read(buffer)) >= 0; ) {
        out.write(buffer, 0, n);
      }
    } catch (IOException e) {
      // one side went away: end both
    } finally {
      close(from, open);
      close(to, open);
    }
  }

  private static void close(Socket s, Set<Socket> open) {
    open.remove(s);
    try {
      s.close();
    } catch (IOException e) {
      // already gone
    }
  }

  private static void close(ServerSocket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  private static void daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
  }
}
