package org.rlhfnode.node.sync;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.WeightsSynced;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * How the policy trainer's weights reach the rollout engines: one transport (Artery chunks or a c10d
 * broadcast) behind one call. The future completes once every rollout engine has installed the
 * version (or with the reason it has not); the payload is closed when the transfer is over.
 */
public interface WeightSync {
  /** The transport's name for metrics and logs ({@code "artery"}, {@code "gloo"}). */
  String transport();

  /**
   * Sends {@code payload} to the rollout engines {@code engines} (empty: every engine registered now) and
   * takes ownership of it.
   */
  CompletableFuture<WeightsSynced> publish(WeightPayload payload, List<ActorRef<RolloutCommand>> engines);
}
