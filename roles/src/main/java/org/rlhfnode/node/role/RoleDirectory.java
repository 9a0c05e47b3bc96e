package org.rlhfnode.node.role;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.TrainStep;
import org.rlhfnode.node.ppo.PpoSettings;

/**
 * The supervisor's view of the roles: the live instances of each role (from Receptionist listings) and
 * every request still waiting for its answer, with a deadline. Requests to stateless roles (rollout,
 * reference, reward) are resent, round-robin, to an instance that is still there when they fail, time out,
 * or their instance leaves, at most {@link #MAX_ATTEMPTS} times; requests to the stateful trainers are not
 * (their state would be lost), so their loss or silence is an error for the run. Used on the supervisor's
 * thread only.
 */
final class RoleDirectory {
  static final String POLICY = "policy";
  static final String CRITIC = "critic";
  static final String REFERENCE = "reference";
  static final String REWARD = "reward";
  static final String ROLLOUT = "rollout";
  static final int MAX_ATTEMPTS = 3;
  static final List<ServiceKey<?>> KEYS =
      List.of(RoleKeys.POLICY, RoleKeys.CRITIC, RoleKeys.REFERENCE, RoleKeys.REWARD, RoleKeys.ROLLOUT);
  private static final Duration RETRY_DELAY = Duration.ofSeconds(1);

  /** A request waiting for its answer. */
  private static final class Pending {
    final String role;
    final LongFunction<Object> message; // built again at each send, with the weight version of that moment
    ActorRef<Object> target; // null: waiting for an instance or for its retry delay
    long deadline;
    int attempts;

    Pending(String role, LongFunction<Object> message) {
      this.role = role;
      this.message = message;
    }
  }

  private final Map<String, List<ActorRef<Object>>> instances = new HashMap<>();
  private final Map<String, Integer> roundRobin = new HashMap<>();
  private final Map<String, Pending> pending = new LinkedHashMap<>();
  private final long timeoutNanos;
  private final LongSupplier version;

  /**
   * @param timeout how long a request may go unanswered
   * @param version the weight version resent rollout requests ask for
   */
  RoleDirectory(Duration timeout, LongSupplier version) {
    this.timeoutNanos = timeout.toNanos();
    this.version = version;
  }

  private static String roleOf(ServiceKey<?> key) {
    return key.id().substring("rlhf-".length());
  }

  /** Takes in a listing; returns an error when a trainer with work in progress left, else null. */
  String update(Receptionist.Listing listing) {
    for (ServiceKey<?> key : KEYS) {
      if (listing.isForKey(key)) {
        String role = roleOf(key);
        List<ActorRef<Object>> now = new ArrayList<>();
        listing.getServiceInstances(key).forEach(r -> now.add(r.unsafeUpcast()));
        now.sort((a, b) -> a.path().toString().compareTo(b.path().toString()));
        List<ActorRef<Object>> before = instances.put(role, now);
        return reassign(role, before == null ? List.of() : before, now);
      }
    }
    return null;
  }

  private String reassign(String role, List<ActorRef<Object>> before, List<ActorRef<Object>> now) {
    if (!resendable(role) && !now.containsAll(before)) {
      return "the " + role + " role left the cluster; its weights and optimizer state are lost"
          + " (restart the run from its last checkpoint)";
    }
    for (Pending p : pending.values()) {
      if (p.role.equals(role) && p.target != null && !now.contains(p.target)) {
        p.target = null;
        p.deadline = 0; // resend at the next tick, to an instance still there
      }
    }
    return null;
  }

  private static boolean resendable(String role) {
    return role.equals(ROLLOUT) || role.equals(REFERENCE) || role.equals(REWARD);
  }

  /** Whether every role the run needs has an instance. */
  boolean ready(PpoSettings s) {
    return count(POLICY) > 0 && count(REWARD) > 0 && count(ROLLOUT) > 0
        && (!s.needsReference() || count(REFERENCE) > 0) && (!s.needsCritic() || count(CRITIC) > 0);
  }

  int count(String role) {
    return instances.getOrDefault(role, List.of()).size();
  }

  void sendRollout(String id, LongFunction<Object> message) {
    send(id, new Pending(ROLLOUT, message));
  }

  void sendScore(String role, String id, ScoreRequest request) {
    send(id, new Pending(role, v -> request));
  }

  /** The batch, then the step that consumes it, to the role's (single) trainer. */
  void sendTrain(String role, String id, ExperienceBatch batch, TrainStep step) {
    ActorRef<Object> trainer = next(role);
    trainer.tell(batch);
    Pending p = new Pending(role, v -> step);
    p.target = trainer;
    p.attempts = 1;
    p.deadline = System.nanoTime() + timeoutNanos;
    pending.put(id, p);
    trainer.tell(step);
  }

  void sendSync(String id, Object message) {
    send(id, new Pending(POLICY, v -> message));
  }

  void sendCheckpoint(String role, String id, Object message) {
    send(id, new Pending(role, v -> message));
  }

  private void send(String id, Pending p) {
    pending.put(id, p);
    dispatch(p);
  }

  private void dispatch(Pending p) {
    ActorRef<Object> target = next(p.role);
    p.attempts++;
    p.target = target;
    p.deadline = System.nanoTime() + timeoutNanos;
    if (target != null) {
      target.tell(p.message.apply(version.getAsLong()));
    }
  }

  private ActorRef<Object> next(String role) {
    List<ActorRef<Object>> refs = instances.getOrDefault(role, List.of());
    if (refs.isEmpty()) {
      return null;
    }
    int i = roundRobin.merge(role, 1, Integer::sum) % refs.size();
    return refs.get(i);
  }

  boolean isPending(String id) {
    return pending.containsKey(id);
  }

  /** Marks a request answered; false when it was not pending (a duplicate or late answer). */
  boolean complete(String id) {
    return pending.remove(id) != null;
  }

  /**
   * A request was refused: resend it after a short delay. {@code counts} false (a rollout engine still
   * loading its first weights) does not use up an attempt. Returns an error once the attempts are spent.
   */
  String retry(String id, String reason, boolean counts) {
    Pending p = pending.get(id);
    if (!counts) {
      p.attempts--;
    } else if (p.attempts >= MAX_ATTEMPTS || !resendable(p.role)) {
      return id + " failed " + p.attempts + " times; last: " + reason;
    }
    p.target = null;
    p.deadline = System.nanoTime() + RETRY_DELAY.toNanos();
    return null;
  }

  /** Resends what is due; returns an error for a request out of attempts or a silent trainer. */
  String retryOverdue() {
    long now = System.nanoTime();
    for (Map.Entry<String, Pending> e : pending.entrySet()) {
      Pending p = e.getValue();
      if (now < p.deadline) {
        continue;
      }
      if (p.target != null && (!resendable(p.role) || p.attempts >= MAX_ATTEMPTS)) {
        return "no answer to " + e.getKey() + " from the " + p.role + " role after " + p.attempts
            + " attempt(s) within role_timeout_s";
      }
      if (count(p.role) > 0) {
        dispatch(p);
      }
    }
    return null;
  }
}
