package org.rlhfnode.node.sync;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.runtime.transport.GlooGroup;
import org.rlhfnode.runtime.transport.PayloadBuffer;

/**
 * The publisher's side of the gloo transport: its TCP store and one persistent group per receiver set,
 * formed again (as a new generation) when the set changes or a broadcast fails. Every method blocks and
 * is called on the publisher's single executor thread only.
 */
final class GlooBroadcaster implements AutoCloseable {

  /** Where the receivers join: the store's address and the receivers in rank order (rank = index + 1). */
  record Rendezvous(String host, int port, List<ActorRef<WeightSyncMessage>> members) {
    int worldSize() {
      return members.size() + 1;
    }
  }

  private final String host;
  private final int port;
  private final Duration timeout;
  private GlooGroup.Host store;
  private GlooGroup group; // null until formed, and after a failure
  private List<ActorRef<WeightSyncMessage>> members; // of the current generation

  GlooBroadcaster(String host, int port, Duration timeout) {
    this.host = host;
    this.port = port;
    this.timeout = timeout;
  }

  /**
   * Starts the store on first use and, unless {@code receivers} are the current members, a new generation
   * (closing the old group), so that the rendezvous handed out next tells receivers which group to join.
   */
  Rendezvous prepare(List<ActorRef<WeightSyncMessage>> receivers) {
    if (store == null) {
      store = GlooGroup.Host.listen(host, port, timeout);
    }
    if (members == null || !new HashSet<>(members).equals(new HashSet<>(receivers))) {
      closeGroup();
      store.nextGeneration();
      members = List.copyOf(receivers);
    }
    return new Rendezvous(store.host(), store.port(), members);
  }

  /** Forms the group if this generation has none yet (waits for every receiver), then broadcasts as rank 0. */
  void broadcast(PayloadBuffer bytes) {
    try {
      if (group == null) {
        group = store.form(members.size() + 1);
      }
      group.broadcast(bytes);
    } catch (RuntimeException e) {
      closeGroup();
      members = null; // the next prepare starts a new generation
      throw e;
    }
  }

  private void closeGroup() {
    if (group != null) {
      group.close();
      group = null;
    }
  }

  @Override
  public void close() {
    closeGroup();
    if (store != null) {
      store.close();
      store = null;
    }
  }
}
