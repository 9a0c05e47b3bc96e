package org.rlhfnode.node.supervisor;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RoleKeys;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.StatusQuery;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.node.ppo.PpoSettings;

/**
 * The supervisor's view of the instances of each role the Receptionist lists now, sorted by path so
 * that every supervisor picks the same ones, and of the roles the run cannot do without.
 */
final class RoleSet {
  private final List<Role> needed = new ArrayList<>();
  private List<ActorRef<TrainerCommand>> policies = List.of();
  private List<ActorRef<TrainerCommand>> critics = List.of();
  private List<ActorRef<RolloutCommand>> engines = List.of();
  private int rewards;
  private int references;

  RoleSet(PpoSettings s) {
    needed.addAll(List.of(Role.POLICY, Role.ROLLOUT, Role.REWARD));
    if (s.needsReference()) {
      needed.add(Role.REFERENCE);
    }
    if (s.needsCritic()) {
      needed.add(Role.CRITIC);
    }
  }

  /** Takes in a listing of any role's key. */
  void update(Receptionist.Listing l) {
    if (l.isForKey(RoleKeys.POLICY)) {
      policies = sorted(l, RoleKeys.POLICY);
    } else if (l.isForKey(RoleKeys.CRITIC)) {
      critics = sorted(l, RoleKeys.CRITIC);
    } else if (l.isForKey(RoleKeys.ROLLOUT)) {
      engines = sorted(l, RoleKeys.ROLLOUT);
    } else if (l.isForKey(RoleKeys.REWARD)) {
      rewards = l.getServiceInstances(RoleKeys.REWARD).size();
    } else if (l.isForKey(RoleKeys.REFERENCE)) {
      references = l.getServiceInstances(RoleKeys.REFERENCE).size();
    }
  }

  private static <T> List<ActorRef<T>> sorted(Receptionist.Listing listing, ServiceKey<T> key) {
    List<ActorRef<T>> now = new ArrayList<>(listing.getServiceInstances(key));
    now.sort((a, b) -> a.path().toString().compareTo(b.path().toString()));
    return List.copyOf(now);
  }

  int count(Role r) {
    switch (r) {
      case POLICY:
        return policies.size();
      case CRITIC:
        return critics.size();
      case ROLLOUT:
        return engines.size();
      case REWARD:
        return rewards;
      case REFERENCE:
        return references;
      default:
        return 0;
    }
  }

  /** The roles the run needs and has no instance of, in a fixed order. */
  List<Role> missing() {
    return needed.stream().filter(r -> count(r) == 0).toList();
  }

  /** The instances of a stateful role. */
  List<ActorRef<TrainerCommand>> trainers(Role r) {
    if (r != Role.POLICY && r != Role.CRITIC) {
      throw new IllegalArgumentException(r + " is not a training role");
    }
    return r == Role.POLICY ? policies : critics;
  }

  /** The rollout engines listed now. */
  List<ActorRef<RolloutCommand>> engines() {
    return engines;
  }

  /** Every stateful role and rollout engine, to ask which run they belong to. */
  List<ActorRef<StatusQuery>> census() {
    List<ActorRef<StatusQuery>> out = new ArrayList<>();
    policies.forEach(ref -> out.add(ref.narrow()));
    critics.forEach(ref -> out.add(ref.narrow()));
    engines.forEach(ref -> out.add(ref.narrow()));
    return out;
  }
}
