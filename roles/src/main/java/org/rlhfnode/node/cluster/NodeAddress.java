package org.rlhfnode.node.cluster;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.Address;

/**
 * Where a node of the cluster listens: a host (IP or hostname, exactly as every node writes it) and a
 * TCP port. A node's own address may use port 0 (bind any free port); a seed needs a real one.
 * Parse errors are one line that names the flag the value came from.
 */
public record NodeAddress(String host, int port) {

  /** The host a node uses when {@code --host} is not given. */
  public static final String DEFAULT_HOST = "127.0.0.1";
  /** The port a node uses when {@code --port} is not given. */
  public static final int DEFAULT_PORT = 2552;

  private static final int MAX_PORT = 65_535;
  private static final String SEED_FLAG = "--seed";

  /** Checks the fields: a host without blanks or URI punctuation, a port in 0..65535. */
  public NodeAddress {
    String problem = hostProblem(host);
    if (problem != null) {
      throw new IllegalArgumentException("NodeAddress.host '" + host + "': " + problem);
    }
    if (port < 0 || port > MAX_PORT) {
      throw new IllegalArgumentException("NodeAddress.port " + port + " is outside 0.." + MAX_PORT);
    }
  }

  /** Parses a {@code --seed} value, {@code host:port} (IPv6 as {@code [::1]:2552}); the port must be 1..65535. */
  public static NodeAddress parse(String text) {
    return parse(text, SEED_FLAG);
  }

  /** Parses {@code host:port} given to {@code flag} (named in errors); the port must be 1..65535. */
  public static NodeAddress parse(String text, String flag) {
    String value = text == null ? "" : text.strip();
    int colon = value.lastIndexOf(':');
    if (colon < 0) {
      throw bad(flag, text, "expected host:port");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.contains(":")) {
      throw bad(flag, text, "expected host:port (write an IPv6 host as [addr]:port)");
    }
    String problem = hostProblem(host);
    if (problem != null) {
      throw bad(flag, text, "expected host:port (" + problem + ")");
    }
    int port = portNumber(flag, text, value.substring(colon + 1));
    if (port < 1) {
      throw bad(flag, text, "port " + port + " is outside 1.." + MAX_PORT);
    }
    return new NodeAddress(host, port);
  }

  /**
   * Parses the values of a repeatable flag whose values may also be comma lists
   * ({@code --seed a:2552 --seed b:2552} or {@code --seed a:2552,b:2552}), in order, duplicates dropped.
   */
  public static List<NodeAddress> parseAll(List<String> values, String flag) {
    List<NodeAddress> addresses = new ArrayList<>();
    for (String value : values) {
      for (String part : value.split(",", -1)) {
        NodeAddress address = parse(part, flag);
        if (!addresses.contains(address)) {
          addresses.add(address);
        }
      }
    }
    return List.copyOf(addresses);
  }

  /**
   * A node's own address from its {@code --host} and {@code --port} flags; port 0 means "bind any free
   * port" (the actual one is known once the actor system has started).
   */
  public static NodeAddress self(String host, int port) {
    String problem = hostProblem(host);
    if (problem != null) {
      throw new IllegalArgumentException("--host '" + host + "': " + problem);
    }
    if (port < 0 || port > MAX_PORT) {
      throw new IllegalArgumentException("--port " + port + ": expected 0.." + MAX_PORT + " (0 = any free port)");
    }
    return new NodeAddress(host, port);
  }

  /** The Pekko address of this node in the actor system {@code systemName}. */
  public Address toPekkoAddress(String systemName) {
    return new Address("pekko", systemName, host, port);
  }

  /** {@code host:port}, IPv6 hosts in brackets: the form {@link #parse} reads back. */
  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  private static int portNumber(String flag, String text, String digits) {
    if (digits.isEmpty() || !digits.chars().allMatch(Character::isDigit) || digits.length() > 5) {
      throw bad(flag, text, "expected host:port (the port must be a number)");
    }
    int port = Integer.parseInt(digits);
    if (port > MAX_PORT) {
      throw bad(flag, text, "port " + port + " is outside 1.." + MAX_PORT);
    }
    return port;
  }

  /** Why {@code host} cannot be a node's host, or null when it can. */
  private static String hostProblem(String host) {
    if (host == null || host.isBlank()) {
      return "the host is empty";
    }
    for (char c : host.toCharArray()) {
      if (Character.isWhitespace(c) || c == '/' || c == '@' || c == '[' || c == ']' || c == ',') {
        return "the host contains '" + c + "'";
      }
    }
    return null;
  }

  private static IllegalArgumentException bad(String flag, String text, String expected) {
    return new IllegalArgumentException(flag + " '" + text + "': " + expected);
  }
}
