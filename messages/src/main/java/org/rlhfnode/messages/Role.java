package org.rlhfnode.messages;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The roles of a PPO run, in one place: how a node's {@code --role} flag names each, the Receptionist
 * key under which its instances register (the supervisor is a cluster singleton, not a service), and
 * what losing an instance means. Work sent to a stateless role (rollout, reward, reference) can be sent
 * again to another instance; a stateful role (policy trainer, critic) holds weights and optimizer state,
 * so losing it means restoring the run from a checkpoint.
 */
public enum Role {
  /** Drives the loop; a cluster singleton on the nodes with this role. */
  SUPERVISOR("supervisor", List.of(), null, false, false),
  /** The policy trainer: lp_old, policy updates, weight versions, weight publishing. */
  POLICY("trainer", List.of("policy"), RoleKeys.POLICY, false, true),
  /** The critic: V_old and value updates (GAE). */
  CRITIC("critic", List.of(), RoleKeys.CRITIC, false, true),
  /** A rollout engine: sampling. */
  ROLLOUT("rollout", List.of(), RoleKeys.ROLLOUT, true, false),
  /** Reward models and reward functions: sequence scores. */
  REWARD("reward", List.of(), RoleKeys.REWARD, true, false),
  /** The reference model: lp_ref. */
  REFERENCE("reference", List.of(), RoleKeys.REFERENCE, true, false);

  private final String cliName;
  private final List<String> aliases;
  private final ServiceKey<?> key;
  private final boolean resendable;
  private final boolean stateful;

  Role(String cliName, List<String> aliases, ServiceKey<?> key, boolean resendable, boolean stateful) {
    this.cliName = cliName;
    this.aliases = aliases;
    this.key = key;
    this.resendable = resendable;
    this.stateful = stateful;
  }

  /** The name in {@code --role} lists and in the node's cluster roles ({@code trainer} for the policy). */
  public String cliName() {
    return cliName;
  }

  /** The Receptionist key of a service role; empty for the supervisor. */
  public Optional<ServiceKey<?>> key() {
    return Optional.ofNullable(key);
  }

  /** Whether a request to this role may be sent again to another instance (it holds no run state). */
  public boolean resendable() {
    return resendable;
  }

  /** Whether the role holds run state (weights, optimizer) that a checkpoint saves and restores. */
  public boolean stateful() {
    return stateful;
  }

  /** Lower-case name for logs and paths ({@code policy}, {@code critic}, ...). */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The roles a node may run, as {@code --role all} stands for them, in start order. */
  public static List<Role> all() {
    return List.of(values());
  }

  /** The role a {@code --role} entry names ({@code trainer} and {@code policy} both name the policy). */
  public static Role fromCliName(String name) {
    String n = name.trim();
    return Arrays.stream(values()).filter(r -> r.cliName.equals(n) || r.aliases.contains(n)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("--role '" + n + "': expected all or a comma list of "
            + Arrays.stream(values()).map(Role::cliName).toList()));
  }

  @Override
  public String toString() {
    return label();
  }
}
