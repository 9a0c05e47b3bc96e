package org.rlhfnode.runtime.algo.ppo;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.algo.TokenLogProbs;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.train.BatchTensors;

/**
 * The scoring passes of algorithms.md §7.1 over a rollout's rows, without autograd, in micro-batches:
 * per-token log-probs (lp_old from the actor, lp_ref from the reference) or critic values V_old. Entries
 * outside the action mask are 0.
 */
public final class ScoringPass {
  private ScoringPass() {}

  /** lp[t] of x_{t+1} under {@code model} at temperature τ; [B, T] row-major. */
  public static float[] logProbs(CausalLm model, RolloutRows rows, double temperature, int microBatch) {
    return run(model, rows, microBatch, temperature, true);
  }

  /** V(t) of the model's score head at position t; [B, T] row-major. */
  public static float[] values(CausalLm model, RolloutRows rows, int microBatch) {
    return run(model, rows, microBatch, 1.0, false);
  }

  private static float[] run(CausalLm model, RolloutRows rows, int micro, double temperature, boolean logProbs) {
    if (micro < 1) {
      throw new IllegalArgumentException("micro batch must be ≥ 1, got " + micro);
    }
    int t = rows.length() - 1;
    float[] out = new float[rows.batch() * t];
    float[] mask = rows.actionMaskView();
    try (InferenceMode guard = new InferenceMode()) {
      for (int start = 0; start < rows.batch(); start += micro) {
        int end = Math.min(rows.batch(), start + micro);
        try (PointerScope scope = new PointerScope()) {
          Batch b = rows.slice(start, end);
          Tensor ids = BatchTensors.ids(b, model.device()); // [b, L]
          Tensor hidden = model.hidden(ids, BatchTensors.attention(b, model.device()), null); // [b, L, d]
          Tensor perToken = logProbs
              ? TokenLogProbs.of(model.logits(hidden), ids, temperature) // [b, T]
              : model.scores(hidden).narrow(1, 0, t); // [b, T]
          float[] chunk = Tensors.toFloats(perToken);
          for (int i = 0; i < chunk.length; i++) {
            out[start * t + i] = mask[start * t + i] != 0 ? chunk[i] : 0f;
          }
        }
      }
    }
    return out;
  }
}
