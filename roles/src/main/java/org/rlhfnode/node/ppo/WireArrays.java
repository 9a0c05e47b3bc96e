package org.rlhfnode.node.ppo;

import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.messages.WireTensor;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;

/**
 * Rollout rows and experience as the {@link TensorMap}s that travel between the roles, and back. The
 * names and shapes are those of {@link TensorNames}: prompt + response rows right-padded to L, per-token
 * arrays [B, L − 1] in the shifted frame. Scores travel as F32, in one JVM as across many, so both give
 * the same numbers.
 */
public final class WireArrays {
  /** Pad id of the rows; padding is masked out everywhere, any id in the vocabulary does. */
  public static final long PAD = 0L;

  private WireArrays() {}

  /** The rows: sequences, masks, the sampler's log-probs and the truncation flags. */
  public static TensorMap rows(RolloutRows rows) {
    long b = rows.batch();
    long l = rows.length();
    return TensorMap.of(TensorNames.SEQUENCES, WireTensor.ofLongs(new long[] {b, l}, rows.ids()))
        .with(TensorNames.ATTENTION_MASK, WireTensor.ofLongs(new long[] {b, l}, rows.attention()))
        .with(TensorNames.ACTION_MASK, WireTensor.ofFloats(new long[] {b, l - 1}, rows.actionMask()))
        .with(TensorNames.ROLLOUT_LOG_PROBS, WireTensor.ofFloats(new long[] {b, l - 1}, rows.rolloutLogProbs()))
        .with(TensorNames.TRUNCATED, bools(rows.truncated()));
  }

  /** The rows of a map written by {@link #rows(RolloutRows)} (or an experience map). */
  public static RolloutRows rows(TensorMap map) {
    WireTensor seq = map.require(TensorNames.SEQUENCES);
    if (seq.rank() != 2) {
      throw new IllegalArgumentException(TensorNames.SEQUENCES + " must be [B, L], got rank " + seq.rank());
    }
    int b = Math.toIntExact(seq.dim(0));
    int l = Math.toIntExact(seq.dim(1));
    return RolloutRows.ofArrays(b, l, seq.toLongArray(), map.require(TensorNames.ATTENTION_MASK).toLongArray(),
        map.require(TensorNames.ACTION_MASK).toFloatArray(),
        map.require(TensorNames.ROLLOUT_LOG_PROBS).toFloatArray(), bools(map.require(TensorNames.TRUNCATED)));
  }

  /** One per-token array [B, L − 1] of the rows' frame. */
  public static TensorMap perToken(String name, RolloutRows rows, float[] values) {
    return TensorMap.of(name, WireTensor.ofFloats(new long[] {rows.batch(), rows.length() - 1}, values));
  }

  /** One value per sequence, [B]. */
  public static TensorMap perSequence(String name, double[] values) {
    return TensorMap.of(name, floats(values));
  }

  /** One value per sequence as a [B] F32 tensor. */
  public static WireTensor sequenceValues(double[] values) {
    return floats(values);
  }

  private static WireTensor floats(double[] values) {
    float[] f = new float[values.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) values[i];
    }
    return WireTensor.ofFloats(new long[] {f.length}, f);
  }

  /** Sequence scores [B] as doubles. */
  public static double[] doubles(WireTensor t) {
    float[] f = t.toFloatArray();
    double[] out = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      out[i] = f[i];
    }
    return out;
  }

  /** A whole experience, for the trainers. */
  public static TensorMap experience(Experience e) {
    long[] tok = {e.batchSize(), e.actionFrame()};
    TensorMap m = TensorMap.of(TensorNames.SEQUENCES, WireTensor.ofLongs(new long[] {e.batchSize(), e.length()},
            e.ids()))
        .with(TensorNames.ATTENTION_MASK, WireTensor.ofLongs(new long[] {e.batchSize(), e.length()},
            e.attentionMask()))
        .with(TensorNames.ACTION_MASK, WireTensor.ofFloats(tok, e.actionMask()))
        .with(TensorNames.ROLLOUT_LOG_PROBS, WireTensor.ofFloats(tok, e.rolloutLogProbs()))
        .with(TensorNames.OLD_LOG_PROBS, WireTensor.ofFloats(tok, e.oldLogProbs()))
        .with(TensorNames.REWARDS, WireTensor.ofFloats(tok, e.rewards()))
        .with(TensorNames.ADVANTAGES, WireTensor.ofFloats(tok, e.advantages()))
        .with(TensorNames.RETURNS, WireTensor.ofFloats(tok, e.returns()))
        .with(TensorNames.TRUNCATED, bools(e.truncated()))
        .with(TensorNames.SCORES, floats(e.scores()));
    if (e.refLogProbs() != null) {
      m = m.with(TensorNames.REF_LOG_PROBS, WireTensor.ofFloats(tok, e.refLogProbs()));
    }
    if (e.values() != null) {
      m = m.with(TensorNames.VALUES, WireTensor.ofFloats(tok, e.values()));
    }
    return m;
  }

  /** The experience of a map written by {@link #experience(Experience)}; group structure is not kept. */
  public static Experience experience(TensorMap m, long policyVersion) {
    RolloutRows rows = rows(m);
    return new Experience(rows.batch(), rows.length(), 1, rows.ids(), rows.attention(), rows.actionMask(),
        rows.rolloutLogProbs(), floats(m, TensorNames.OLD_LOG_PROBS), optFloats(m, TensorNames.REF_LOG_PROBS),
        optFloats(m, TensorNames.VALUES), floats(m, TensorNames.REWARDS), floats(m, TensorNames.ADVANTAGES),
        floats(m, TensorNames.RETURNS), doubles(m.require(TensorNames.SCORES)), rows.truncated(), policyVersion);
  }

  private static float[] floats(TensorMap m, String name) {
    return m.require(name).toFloatArray();
  }

  private static float[] optFloats(TensorMap m, String name) {
    return m.find(name).map(WireTensor::toFloatArray).orElse(null);
  }

  private static WireTensor bools(boolean[] flags) {
    byte[] b = new byte[flags.length];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (flags[i] ? 1 : 0);
    }
    return WireTensor.ofBytes("BOOL", new long[] {b.length}, b);
  }

  private static boolean[] bools(WireTensor t) {
    byte[] b = t.toByteArray();
    boolean[] out = new boolean[b.length];
    for (int i = 0; i < b.length; i++) {
      out[i] = b[i] != 0;
    }
    return out;
  }
}
