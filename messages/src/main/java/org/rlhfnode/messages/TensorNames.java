package org.rlhfnode.messages;

/**
 * The tensor names the roles agree on inside a {@link TensorMap}, with their shapes and meaning
 * (B sequences of L tokens; per-token tensors are in the shifted frame of algorithms.md §1, length L−1).
 */
public final class TensorNames {
  /** [B, L] I64: prompt then response token ids of each sample, right-padded to L. */
  public static final String SEQUENCES = "sequences";
  /** [B, L] I64: 1 for real tokens, 0 for padding. */
  public static final String ATTENTION_MASK = "attention_mask";
  /** [B, L−1] F32: 1 where x_{t+1} was sampled from the policy (algorithms.md §1.3). */
  public static final String ACTION_MASK = "action_mask";
  /** [B] BOOL: the response hit its token budget without an EOS. */
  public static final String TRUNCATED = "truncated";
  /** [B, L−1] F32: log-probs the rollout engine sampled with (lp_roll, algorithms.md §8.5). */
  public static final String ROLLOUT_LOG_PROBS = "rollout_log_probs";
  /** [B, L−1] F32: log-probs of the policy that produced the batch (lp_old). */
  public static final String OLD_LOG_PROBS = "old_log_probs";
  /** [B, L−1] F32: log-probs of the frozen reference model (lp_ref). */
  public static final String REF_LOG_PROBS = "ref_log_probs";
  /** [B, L−1] F32: critic values of the actions (V_old). */
  public static final String VALUES = "values";
  /** [B] F32: scalar sequence score s_i from a reward model or function. */
  public static final String SCORES = "scores";
  /**
   * [B] F32: the combined score dynamic filtering reads (a remote endpoint's {@code scores} in place of its
   * {@code rewards}); present only when it differs from {@link #SCORES}.
   */
  public static final String FILTER_SCORES = "filter_scores";
  /** Prefix of [B] F32 per-sample values a remote reward endpoint sent in {@code extra_logs} (NaN: not sent). */
  public static final String EXTRA_LOG_PREFIX = "extra_logs/";
  /** [B, L−1] F32: per-token shaped rewards r[t] (algorithms.md §7.3). */
  public static final String REWARDS = "rewards";
  /** [B, L−1] F32: advantages A_t after the configured estimator and whitening. */
  public static final String ADVANTAGES = "advantages";
  /** [B, L−1] F32: critic targets R_t. */
  public static final String RETURNS = "returns";
  /** [B, L−1] F32: per-token KL estimate k[t] (algorithms.md §7.2). */
  public static final String KL = "kl";

  private TensorNames() {}
}
