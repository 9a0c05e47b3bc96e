package org.rlhfnode.runtime.transport;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.gloo.Socket;

/**
 * A listening TCP socket bound to one address, for a c10d {@code TCPStore} server to take over
 * ({@code TCPStoreOptions.masterListenFd}). Left to itself the store listens on every interface (both of
 * libtorch's backends bind the wildcard address); a store given this socket listens only where the cluster
 * reaches it. The socket is made with Gloo's own socket wrapper from libtorch (no other native code):
 * created, set {@code SO_REUSEADDR}, bound and put in listening state, then its descriptor is released to
 * the store, which closes it when the store stops.
 */
final class StoreSocket {
  private static final int AF_INET = 2;
  private static final int AF_INET6 = 10;
  private static final int BACKLOG = 128;

  private final int fd;
  private final String identity; // what /proc/self/fd/<fd> pointed to when made, or "" off Linux

  private StoreSocket(int fd, String identity) {
    this.fd = fd;
    this.identity = identity;
  }

  /** A socket listening on {@code host}'s address (resolved once) and {@code port} (0 = any free port). */
  static StoreSocket listen(InetAddress address, int port) {
    boolean v6 = address instanceof Inet6Address;
    byte[] ip = address.getAddress();
    try (BytePointer sockaddr = new BytePointer(v6 ? 28 : 16)) {
      sockaddr.fill(0);
      sockaddr.put(0, (byte) (v6 ? AF_INET6 : AF_INET)); // sa_family, little-endian u16 on Linux
      sockaddr.put(2, (byte) (port >>> 8)); // sin_port / sin6_port, network order
      sockaddr.put(3, (byte) port);
      for (int i = 0; i < ip.length; i++) {
        sockaddr.put((v6 ? 8 : 4) + i, ip[i]); // sin_addr / sin6_addr
      }
      if (v6) {
        int scope = ((Inet6Address) address).getScopeId();
        for (int i = 0; i < 4; i++) {
          sockaddr.put(24 + i, (byte) (scope >>> (8 * i))); // sin6_scope_id, host order
        }
      }
      Socket socket = Socket.createForFamily(v6 ? AF_INET6 : AF_INET);
      try {
        socket.reuseAddr(true);
        socket.bind(sockaddr, sockaddr.capacity());
        socket.listen(BACKLOG);
        int fd = socket.release();
        return new StoreSocket(fd, identity(fd));
      } catch (RuntimeException e) {
        throw new IllegalStateException("cannot listen on " + address.getHostAddress() + ":" + port + ": "
            + GlooGroup.firstLine(e), e);
      } finally {
        socket.close(); // closes the descriptor only if it was not released
      }
    }
  }

  /** The numeric address {@code host} names, for binding and for the store's own client. */
  static InetAddress resolve(String host) {
    try {
      return InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("unknown host '" + host + "' for the c10d TCP store", e);
    }
  }

  int fd() {
    return fd;
  }

  /**
   * Closes the descriptor after a store failed to start with it, unless the store closed it already (or it
   * was reused since): on Linux the descriptor is closed only while it still names the same socket.
   */
  void closeUnlessTaken() {
    if (!identity.isEmpty() && identity.equals(identity(fd))) {
      try (Socket s = new Socket(fd)) {
        // the destructor closes fd
      }
    }
  }

  private static String identity(int fd) {
    try {
      return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
    } catch (IOException | UnsupportedOperationException e) {
      return "";
    }
  }
}
