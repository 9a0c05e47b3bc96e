package org.rlhfnode.runtime.algo.ppo;

import java.util.Arrays;
import org.rlhfnode.runtime.data.Batch;

/**
 * One rollout's frozen experience (algorithms.md §7–§8), as plain Java arrays so it can cross
 * threads, actors and the wire, and so training tensors built from it can enter autograd.
 *
 * <p>B samples, each prompt + response right-padded to L tokens. Per-token arrays are row-major
 * [B, T] with T = L − 1 in the shifted frame of §1.2: entry t belongs to token x_{t+1}, so the action
 * mask a[t] is 1 exactly where x_{t+1} is a response token. Samples come in groups of
 * {@code samplesPerPrompt} consecutive rows (one prompt each). Arrays that a run does not need are
 * null: {@code refLogProbs} without a reference pass, {@code values} without a critic.
 *
 * @param batchSize B
 * @param length L, tokens per padded row (≥ 2)
 * @param samplesPerPrompt n, the group size
 * @param ids [B, L] token ids, right-padded
 * @param attentionMask [B, L] 1 = real token
 * @param actionMask [B, T] a[t], 1 where x_{t+1} is a generated token
 * @param rolloutLogProbs [B, T] lp_roll from the sampler, 0 outside the mask
 * @param oldLogProbs [B, T] lp_old from the training forward of the generating policy
 * @param refLogProbs [B, T] lp_ref, or null
 * @param values [B, T] V_old(t) of the critic, or null
 * @param rewards [B, T] shaped per-token rewards r (§7.3)
 * @param advantages [B, T] A after the estimator and whitening (§7.4–§7.6)
 * @param returns [B, T] R (critic targets for GAE, G for critic-free estimators)
 * @param scores [B] raw sequence scores s_i from the reward function
 * @param truncated [B] true where the response hit the budget without a stop token
 * @param policyVersion the weight version of the policy that generated the samples
 */
public record Experience(int batchSize, int length, int samplesPerPrompt, long[] ids, long[] attentionMask,
    float[] actionMask, float[] rolloutLogProbs, float[] oldLogProbs, float[] refLogProbs, float[] values,
    float[] rewards, float[] advantages, float[] returns, double[] scores, boolean[] truncated,
    long policyVersion) {

  public Experience {
    if (batchSize < 1 || length < 2 || samplesPerPrompt < 1) {
      throw new IllegalArgumentException("need batchSize ≥ 1, length ≥ 2, samplesPerPrompt ≥ 1, got "
          + batchSize + ", " + length + ", " + samplesPerPrompt);
    }
    int full = batchSize * length;
    int shifted = batchSize * (length - 1);
    ids = copy("ids", ids, full);
    attentionMask = copy("attentionMask", attentionMask, full);
    actionMask = copy("actionMask", actionMask, shifted);
    rolloutLogProbs = copy("rolloutLogProbs", rolloutLogProbs, shifted);
    oldLogProbs = copy("oldLogProbs", oldLogProbs, shifted);
    refLogProbs = refLogProbs == null ? null : copy("refLogProbs", refLogProbs, shifted);
    values = values == null ? null : copy("values", values, shifted);
    rewards = copy("rewards", rewards, shifted);
    advantages = copy("advantages", advantages, shifted);
    returns = copy("returns", returns, shifted);
    scores = copy("scores", scores, batchSize);
    truncated = copy("truncated", truncated, batchSize);
  }

  /** T = L − 1, the width of the per-token arrays. */
  public int actionFrame() {
    return length - 1;
  }

  /** Number of action tokens Σa over the whole rollout. */
  public long actionTokens() {
    long n = 0;
    for (float a : actionMask) {
      n += a != 0 ? 1 : 0;
    }
    return n;
  }

  /** Response length of each sample: Σ_t a[t] of its row. */
  public int[] responseLengths() {
    int t = actionFrame();
    int[] out = new int[batchSize];
    for (int i = 0; i < actionMask.length; i++) {
      out[i / t] += actionMask[i] != 0 ? 1 : 0;
    }
    return out;
  }

  /** Mean of the raw sequence scores. */
  public double meanScore() {
    return Arrays.stream(scores).average().orElse(0.0);
  }

  /** The prompt + response tokens of sample {@code row}, without padding. */
  public long[] sequence(int row) {
    int n = 0;
    for (int c = 0; c < length; c++) {
      n += attentionMask[row * length + c] != 0 ? 1 : 0;
    }
    return Arrays.copyOfRange(ids, row * length, row * length + n);
  }

  /**
   * The samples at {@code rows}, in that order, as a smaller experience (a mini- or micro-batch).
   * Group structure is not kept: the result has {@code samplesPerPrompt} 1.
   */
  public Experience select(int[] rows) {
    return new Experience(rows.length, length, 1, pick(ids, rows, length), pick(attentionMask, rows, length),
        pick(actionMask, rows, length - 1), pick(rolloutLogProbs, rows, length - 1), pick(oldLogProbs, rows, length - 1),
        pick(refLogProbs, rows, length - 1), pick(values, rows, length - 1), pick(rewards, rows, length - 1),
        pick(advantages, rows, length - 1), pick(returns, rows, length - 1), pickRows(scores, rows),
        pickRows(truncated, rows), policyVersion);
  }

  /** The token rows as a {@link Batch} whose loss mask is the action mask (for {@code BatchTensors}). */
  public Batch tokens() {
    long[] loss = new long[actionMask.length];
    for (int i = 0; i < loss.length; i++) {
      loss[i] = actionMask[i] != 0 ? 1 : 0;
    }
    return new Batch(batchSize, length, ids, attentionMask, loss);
  }

  // The accessors hand out copies: an experience is shared between the roles and must not change.
  @Override public long[] ids() {
    return ids.clone();
  }

  @Override public long[] attentionMask() {
    return attentionMask.clone();
  }

  @Override public float[] actionMask() {
    return actionMask.clone();
  }

  @Override public float[] rolloutLogProbs() {
    return rolloutLogProbs.clone();
  }

  @Override public float[] oldLogProbs() {
    return oldLogProbs.clone();
  }

  @Override public float[] refLogProbs() {
    return refLogProbs == null ? null : refLogProbs.clone();
  }

  @Override public float[] values() {
    return values == null ? null : values.clone();
  }

  @Override public float[] rewards() {
    return rewards.clone();
  }

  @Override public float[] advantages() {
    return advantages.clone();
  }

  @Override public float[] returns() {
    return returns.clone();
  }

  @Override public double[] scores() {
    return scores.clone();
  }

  @Override public boolean[] truncated() {
    return truncated.clone();
  }

  private static long[] copy(String name, long[] a, int n) {
    check(name, a == null ? -1 : a.length, n);
    return a.clone();
  }

  private static float[] copy(String name, float[] a, int n) {
    check(name, a == null ? -1 : a.length, n);
    return a.clone();
  }

  private static double[] copy(String name, double[] a, int n) {
    check(name, a == null ? -1 : a.length, n);
    return a.clone();
  }

  private static boolean[] copy(String name, boolean[] a, int n) {
    check(name, a == null ? -1 : a.length, n);
    return a.clone();
  }

  private static void check(String name, int actual, int expected) {
    if (actual != expected) {
      throw new IllegalArgumentException(name + " must hold " + expected + " entries, got "
          + (actual < 0 ? "null" : actual));
    }
  }

  private static long[] pick(long[] a, int[] rows, int width) {
    long[] out = new long[rows.length * width];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(a, rows[i] * width, out, i * width, width);
    }
    return out;
  }

  private static float[] pick(float[] a, int[] rows, int width) {
    if (a == null) {
      return null;
    }
    float[] out = new float[rows.length * width];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(a, rows[i] * width, out, i * width, width);
    }
    return out;
  }

  private static double[] pickRows(double[] a, int[] rows) {
    double[] out = new double[rows.length];
    for (int i = 0; i < rows.length; i++) {
      out[i] = a[rows[i]];
    }
    return out;
  }

  private static boolean[] pickRows(boolean[] a, int[] rows) {
    boolean[] out = new boolean[rows.length];
    for (int i = 0; i < rows.length; i++) {
      out[i] = a[rows[i]];
    }
    return out;
  }
}
