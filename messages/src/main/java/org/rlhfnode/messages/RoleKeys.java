package org.rlhfnode.messages;

import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The typed Receptionist keys under which each service {@link Role} registers and the supervisor finds
 * it ({@link Role#key()} gives the same keys untyped).
 */
public final class RoleKeys {
  /** Policy trainers: lp_old, policy updates, weight publishing. */
  public static final ServiceKey<TrainerCommand> POLICY = ServiceKey.create(TrainerCommand.class, "rlhf-policy");
  /** Critics: values and value updates. */
  public static final ServiceKey<TrainerCommand> CRITIC = ServiceKey.create(TrainerCommand.class, "rlhf-critic");
  /** Reference models: lp_ref. */
  public static final ServiceKey<ScorerCommand> REFERENCE = ServiceKey.create(ScorerCommand.class, "rlhf-reference");
  /** Reward sources: sequence scores. */
  public static final ServiceKey<ScorerCommand> REWARD = ServiceKey.create(ScorerCommand.class, "rlhf-reward");
  /** Rollout engines. */
  public static final ServiceKey<RolloutCommand> ROLLOUT = ServiceKey.create(RolloutCommand.class, "rlhf-rollout");

  /** Every node of a policy trainer over several nodes: its ranks, led by one of them. */
  public static final ServiceKey<RankCommand> POLICY_RANKS = ServiceKey.create(RankCommand.class, "rlhf-policy-ranks");
  /** Every node of a critic over several nodes. */
  public static final ServiceKey<RankCommand> CRITIC_RANKS = ServiceKey.create(RankCommand.class, "rlhf-critic-ranks");

  private RoleKeys() {}
}
