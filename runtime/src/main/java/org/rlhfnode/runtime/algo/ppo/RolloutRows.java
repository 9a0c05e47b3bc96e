package org.rlhfnode.runtime.algo.ppo;

import java.util.Arrays;
import java.util.List;
import org.rlhfnode.runtime.data.Batch;

/**
 * The rows of one rollout before scoring (algorithms.md §1, §7): prompt + response of each sample,
 * right-padded to L tokens, with the shifted action mask, the sampler's log-probs lp_roll, response
 * lengths and truncation flags. Plain Java arrays, so the rows can be built where the sequences arrive
 * (an actor, the wire) and handed to every scoring pass.
 */
public final class RolloutRows {
  private final int batch;
  private final int length;
  private final long[] ids; // [B, L] right-padded
  private final long[] attention; // [B, L] 1 = real token
  private final float[] actionMask; // [B, T] a[t], T = L − 1
  private final float[] rolloutLogProbs; // [B, T] lp_roll, 0 outside a
  private final int[] responseLength; // [B]
  private final int[] promptLength; // [B]
  private final boolean[] truncated; // [B]

  private RolloutRows(int batch, int length) {
    this.batch = batch;
    this.length = length;
    this.ids = new long[batch * length];
    this.attention = new long[batch * length];
    this.actionMask = new float[batch * (length - 1)];
    this.rolloutLogProbs = new float[batch * (length - 1)];
    this.responseLength = new int[batch];
    this.promptLength = new int[batch];
    this.truncated = new boolean[batch];
  }

  /**
   * Rows from the prompts and the sampled responses.
   *
   * @param prompts prompt ids of each sample (non-empty)
   * @param responses generated ids of each sample (stop token included)
   * @param logProbs lp_roll of each response token, or null when the sampler's numbers are unknown (zeros)
   * @param truncated whether each response hit the budget without a stop token
   * @param padId the id written into padding positions
   */
  public static RolloutRows of(List<long[]> prompts, List<long[]> responses, List<float[]> logProbs,
      boolean[] truncated, long padId) {
    int n = prompts.size();
    if (n == 0 || responses.size() != n || truncated.length != n || (logProbs != null && logProbs.size() != n)) {
      throw new IllegalArgumentException("need one response, log-prob row and truncation flag per prompt; got "
          + n + " prompts, " + responses.size() + " responses, " + truncated.length + " flags");
    }
    int length = 2;
    for (int i = 0; i < n; i++) {
      if (prompts.get(i).length == 0) {
        throw new IllegalArgumentException("sample " + i + " has an empty prompt");
      }
      length = Math.max(length, prompts.get(i).length + responses.get(i).length);
    }
    RolloutRows l = new RolloutRows(n, length);
    int t = length - 1;
    for (int i = 0; i < n; i++) {
      long[] p = prompts.get(i);
      long[] resp = responses.get(i);
      float[] lp = logProbs == null ? null : logProbs.get(i);
      if (lp != null && lp.length != resp.length) {
        throw new IllegalArgumentException("sample " + i + ": " + lp.length + " log-probs for " + resp.length
            + " response tokens");
      }
      Arrays.fill(l.ids, i * length, (i + 1) * length, padId);
      System.arraycopy(p, 0, l.ids, i * length, p.length);
      System.arraycopy(resp, 0, l.ids, i * length + p.length, resp.length);
      Arrays.fill(l.attention, i * length, i * length + p.length + resp.length, 1L);
      for (int k = 0; k < resp.length; k++) {
        // response token k sits at p + k, predicted from position p + k − 1 of the shifted frame
        l.actionMask[i * t + p.length - 1 + k] = 1f;
        l.rolloutLogProbs[i * t + p.length - 1 + k] = lp == null ? 0f : lp[k];
      }
      l.responseLength[i] = resp.length;
      l.promptLength[i] = p.length;
      l.truncated[i] = truncated[i];
    }
    return l;
  }

  /** Rows from already laid-out arrays (as they travel between roles); checks their sizes. */
  public static RolloutRows ofArrays(int batch, int length, long[] ids, long[] attention, float[] actionMask,
      float[] rolloutLogProbs, boolean[] truncated) {
    if (batch < 1 || length < 2) {
      throw new IllegalArgumentException("need batch ≥ 1 and length ≥ 2, got " + batch + ", " + length);
    }
    RolloutRows l = new RolloutRows(batch, length);
    copyInto("ids", ids, l.ids);
    copyInto("attention", attention, l.attention);
    copyInto("actionMask", actionMask, l.actionMask);
    copyInto("rolloutLogProbs", rolloutLogProbs, l.rolloutLogProbs);
    if (truncated.length != batch) {
      throw new IllegalArgumentException("truncated must hold " + batch + " entries, got " + truncated.length);
    }
    System.arraycopy(truncated, 0, l.truncated, 0, batch);
    int t = length - 1;
    for (int i = 0; i < actionMask.length; i++) {
      l.responseLength[i / t] += actionMask[i] != 0 ? 1 : 0;
    }
    for (int i = 0; i < attention.length; i++) {
      l.promptLength[i / length] += attention[i] != 0 ? 1 : 0;
    }
    for (int i = 0; i < batch; i++) {
      l.promptLength[i] -= l.responseLength[i];
    }
    return l;
  }

  private static void copyInto(String name, long[] from, long[] to) {
    if (from.length != to.length) {
      throw new IllegalArgumentException(name + " must hold " + to.length + " entries, got " + from.length);
    }
    System.arraycopy(from, 0, to, 0, to.length);
  }

  private static void copyInto(String name, float[] from, float[] to) {
    if (from.length != to.length) {
      throw new IllegalArgumentException(name + " must hold " + to.length + " entries, got " + from.length);
    }
    System.arraycopy(from, 0, to, 0, to.length);
  }

  /** B. */
  public int batch() {
    return batch;
  }

  /** L. */
  public int length() {
    return length;
  }

  // Read-only views would cost an interface; the arrays are handed out as copies.
  public long[] ids() {
    return ids.clone();
  }

  public long[] attention() {
    return attention.clone();
  }

  public float[] actionMask() {
    return actionMask.clone();
  }

  public float[] rolloutLogProbs() {
    return rolloutLogProbs.clone();
  }

  public int[] responseLengths() {
    return responseLength.clone();
  }

  public boolean[] truncated() {
    return truncated.clone();
  }

  /** Prompt tokens of sample i (the tokens before its first action). */
  public long[] prompt(int i) {
    return Arrays.copyOfRange(ids, i * length, i * length + promptLength[i]);
  }

  /** lp_roll of each response token of sample i. */
  public float[] responseLogProbs(int i) {
    int t = length - 1;
    int from = i * t + promptLength[i] - 1; // response token k is predicted at p + k − 1
    return Arrays.copyOfRange(rolloutLogProbs, from, from + responseLength[i]);
  }

  /** Prompt + response tokens of sample i, without padding. */
  public long[] sequence(int i) {
    return Arrays.copyOfRange(ids, i * length, i * length + promptLength[i] + responseLength[i]);
  }

  /** Response tokens of sample i. */
  public long[] response(int i) {
    int p = promptLength[i];
    return Arrays.copyOfRange(ids, i * length + p, i * length + p + responseLength[i]);
  }

  /** Rows [start, end) as a token batch for a forward pass. */
  public Batch slice(int start, int end) {
    int rows = end - start;
    return new Batch(rows, length, Arrays.copyOfRange(ids, start * length, end * length),
        Arrays.copyOfRange(attention, start * length, end * length), new long[rows * (length - 1)]);
  }

  int responseLength(int i) {
    return responseLength[i];
  }

  boolean isTruncated(int i) {
    return truncated[i];
  }

  float[] actionMaskView() {
    return actionMask;
  }

  long[] idsView() {
    return ids;
  }

  long[] attentionView() {
    return attention;
  }

  float[] rolloutLogProbsView() {
    return rolloutLogProbs;
  }
}
