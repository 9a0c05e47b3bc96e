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

  private RoleKeys() {}
}
