package org.rlhfnode.node.sync;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.runtime.transport.GlooGroup;
import org.rlhfnode.runtime.transport.PayloadBuffer;

/**
 * The publisher's side of the gloo transport: a TCP store and one persistent group per receiver set. When
 * the set changes, or a join or broadcast fails, the group and its store are closed (which releases
 * receivers still waiting in the store) and the next publish listens again for a new group. Every method
 * blocks and is called on the publisher's single executor thread only.
 */
final class GlooBroadcaster implements AutoCloseable {

  /**
   * Where the receivers join: the store's address, the secret they prove there (hex; only for the
   * rendezvous messages) and the receivers in rank order (rank = index + 1).
   */
  record Rendezvous(String host, int port, String secret, List<ActorRef<WeightSyncMessage>> members) {
    int worldSize() {
      return members.size() + 1;
    }

    @Override
    public String toString() {
      return "Rendezvous[" + host + ":" + port + ", " + members.size() + " receivers]";
    }
  }

  private final String host;
  private final int port;
  private final Duration timeout;
  private GlooGroup.Host store; // null until the first publish, and after a failure
  private GlooGroup group; // null until formed by the first broadcast of this store
  private List<ActorRef<WeightSyncMessage>> members; // of the current store's group

  GlooBroadcaster(String host, int port, Duration timeout) {
    this.host = host;
    this.port = port;
    this.timeout = timeout;
  }

  /** Keeps the current store and group for the same receivers; otherwise listens again for a new group. */
  Rendezvous prepare(List<ActorRef<WeightSyncMessage>> receivers) {
    if (store == null || !new HashSet<>(members).equals(new HashSet<>(receivers))) {
      close();
      store = GlooGroup.Host.listen(host, port, timeout);
      members = List.copyOf(receivers);
    }
    return new Rendezvous(store.host(), store.port(), store.secret().hex(), members);
  }

  /** Forms the group if the store has none yet (waits for every receiver), then broadcasts as rank 0. */
  void broadcast(PayloadBuffer bytes) {
    try {
      if (group == null) {
        group = store.form(members.size() + 1);
      }
      group.broadcast(bytes);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  @Override
  public void close() {
    if (group != null) {
      group.close();
      group = null;
    }
    if (store != null) {
      store.close();
      store = null;
    }
  }
}
