package org.rlhfnode.runtime.transport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.IntOptional;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;

/**
 * A c10d {@code TCPStore} that only the holders of a {@link RendezvousSecret} reach: the store server
 * listens on loopback only (a socket bound by {@link StoreSocket}: left to itself libtorch's store listens on
 * every interface), a {@link StoreGate} on the cluster address admits connections that answer its
 * challenge, and remote clients pass the gate through a {@link StoreGate.Tunnel}.
 */
final class GatedStore {
  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
  /** A client's connections: the first {@code TCPStore} and its clone (see {@link GlooGroup}). */
  private static final int CLIENT_CONNECTIONS = 2;

  private GatedStore() {}

  /** A running store server and its gate; closing stops the gate first. */
  record Server(TCPStore store, StoreGate gate) {
    int port() {
      return gate.port();
    }
  }

  /**
   * Starts the store on loopback and its gate on {@code host}:{@code port} (0 = any free port).
   *
   * @param start how long the server may take to connect to itself
   */
  static Server start(String host, int port, RendezvousSecret secret, Duration start) {
    InetAddress address = StoreSocket.resolve(host);
    StoreSocket socket = StoreSocket.listen(LOOPBACK, 0);
    TCPStoreOptions options = new TCPStoreOptions().port((short) 0).isServer(true).waitWorkers(false)
        .timeout(new Milliseconds(start.toMillis())).masterListenFd(new IntOptional(socket.fd()));
    TCPStore store;
    try {
      store = new TCPStore(LOOPBACK.getHostAddress(), options);
    } catch (RuntimeException e) {
      socket.closeUnlessTaken();
      throw e;
    }
    try {
      return new Server(store, StoreGate.open(address, port, new InetSocketAddress(LOOPBACK,
          Short.toUnsignedInt(store.getPort())), secret));
    } catch (IOException e) {
      store.deallocate();
      throw new IllegalStateException("cannot listen on " + address.getHostAddress() + ":" + port + ": "
          + e.getMessage(), e);
    }
  }

  /**
   * A first client connection to the gated store at {@code host}:{@code port}, through a tunnel that
   * answers the gate with {@code secret}; {@code cloneIt} makes the client libtorch holds from it (a second
   * connection), after which the tunnel takes no more connections. The first client is freed here.
   */
  static Store connect(String host, int port, RendezvousSecret secret, Duration timeout,
      java.util.function.Function<TCPStore, Store> cloneIt) throws IOException {
    StoreGate.Tunnel tunnel = StoreGate.Tunnel.to(host, port, secret, CLIENT_CONNECTIONS);
    TCPStore first = null;
    try {
      first = new TCPStore(tunnel.localHost(), new TCPStoreOptions().port((short) tunnel.localPort())
          .isServer(false).timeout(new Milliseconds(timeout.toMillis())));
      Store client = cloneIt.apply(first);
      tunnel.stopListeningAfterAccepts(timeout);
      return client;
    } catch (RuntimeException e) {
      tunnel.close();
      throw e;
    } finally {
      if (first != null) {
        first.deallocate(); // only its clone is used
      }
    }
  }
}
