package org.rlhfnode.node.supervisor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.Role;

/**
 * The requests one actor has out with the instances of one role (found through the Receptionist), each
 * with a deadline. A request to a stateless role ({@link Role#resendable()}) that is refused, times out or
 * loses its instance is sent again, round-robin, to an instance still there, at most {@code maxAttempts}
 * times; a refusal that says the instance is not ready (still loading, other weights) waits a retry delay
 * without using up an attempt. A request to a stateful role is never resent: its silence is an error
 * (the supervisor restores the run when the instance itself is lost). The message is built again at each
 * send, so a resent rollout can ask for the weights of that moment. Used on its actor's thread only.
 *
 * @param <T> the role's command type
 */
final class Resender<T> {
  private static final Duration RETRY_DELAY = Duration.ofSeconds(1);

  /** A request waiting for its answer. */
  private final class Pending {
    final Supplier<? extends T> message;
    ActorRef<T> target; // null: waiting for an instance or for its retry delay
    long deadline;
    int attempts;

    Pending(Supplier<? extends T> message) {
      this.message = message;
    }
  }

  private final Role role;
  private final ServiceKey<T> key;
  private final long timeoutNanos;
  private final int maxAttempts;
  private final Map<RequestId, Pending> pending = new LinkedHashMap<>();
  private List<ActorRef<T>> instances = List.of();
  private int roundRobin;

  /**
   * @param key the role's Receptionist key
   * @param timeout how long one attempt may go unanswered
   * @param maxAttempts sends of one request before it fails (stateless roles)
   */
  Resender(Role role, ServiceKey<T> key, Duration timeout, int maxAttempts) {
    this.role = role;
    this.key = key;
    this.timeoutNanos = timeout.toNanos();
    this.maxAttempts = maxAttempts;
  }

  Role role() {
    return role;
  }

  /** Takes in a listing of this role's key (others are ignored); requests whose instance left are resent. */
  void update(Receptionist.Listing listing) {
    if (!listing.isForKey(key)) {
      return;
    }
    List<ActorRef<T>> now = new ArrayList<>(listing.getServiceInstances(key));
    now.sort((a, b) -> a.path().toString().compareTo(b.path().toString()));
    instances = List.copyOf(now);
    long at = System.nanoTime();
    for (Pending p : pending.values()) {
      if (p.target != null && !instances.contains(p.target)) {
        p.target = null;
        p.deadline = 0; // to an instance still there
      }
      if (p.target == null && at >= p.deadline && !instances.isEmpty()) {
        dispatch(p);
      }
    }
  }

  /** Seeds the instances before the first listing arrives (the parent's view), so sends go out at once. */
  void knownInstances(List<ActorRef<T>> refs) {
    instances = List.copyOf(refs);
  }

  /** How many instances the role has now. */
  int count() {
    return instances.size();
  }

  /** Sends a new request now (or as soon as an instance exists). */
  void send(RequestId id, Supplier<? extends T> message) {
    Pending p = new Pending(message);
    pending.put(id, p);
    dispatch(p);
  }

  /** Sends {@code p} to the next instance, or leaves it waiting for one (sent when a listing brings one). */
  private void dispatch(Pending p) {
    if (instances.isEmpty()) {
      p.target = null;
      p.deadline = 0;
      return;
    }
    p.target = instances.get(Math.floorMod(roundRobin++, instances.size()));
    p.deadline = System.nanoTime() + timeoutNanos;
    p.attempts++;
    p.target.tell(p.message.get());
  }

  /** Whether {@code id} is still waiting for its answer. */
  boolean isPending(RequestId id) {
    return pending.containsKey(id);
  }

  /** The instance {@code id} was last sent to, or null. */
  ActorRef<T> targetOf(RequestId id) {
    Pending p = pending.get(id);
    return p == null ? null : p.target;
  }

  /** Marks {@code id} answered; false when it was not pending (a duplicate or a late answer). */
  boolean answered(RequestId id) {
    return pending.remove(id) != null;
  }

  /**
   * {@code id} was refused: it is sent again after a short delay. {@code counts} false (the instance is
   * not ready) does not use up an attempt. Returns an error once the attempts are spent or for a stateful
   * role, else null.
   */
  String refused(RequestId id, String reason, boolean counts) {
    Pending p = pending.get(id);
    if (p == null) {
      return null;
    }
    if (counts && (p.attempts >= maxAttempts || !role.resendable())) {
      pending.remove(id);
      return id + " failed " + p.attempts + " time(s) on the " + role + " role; last: " + reason;
    }
    if (!counts) {
      p.attempts = Math.max(0, p.attempts - 1);
    }
    p.target = null;
    p.deadline = System.nanoTime() + RETRY_DELAY.toNanos();
    return null;
  }

  /** Sends what is due; returns an error for a request out of attempts or an unanswered stateful role, else null. */
  String tick() {
    long now = System.nanoTime();
    for (Map.Entry<RequestId, Pending> e : pending.entrySet()) {
      Pending p = e.getValue();
      if (now < p.deadline) {
        continue;
      }
      if (p.target != null && (!role.resendable() || p.attempts >= maxAttempts)) {
        return "no answer to " + e.getKey() + " from the " + role + " role after " + p.attempts
            + " attempt(s) within role_timeout_s";
      }
      if (p.target != null || !instances.isEmpty()) {
        dispatch(p);
      }
    }
    return null;
  }

  /** Whether nothing is pending. */
  boolean idle() {
    return pending.isEmpty();
  }
}
