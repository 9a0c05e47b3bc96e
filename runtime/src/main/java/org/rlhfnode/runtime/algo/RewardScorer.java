package org.rlhfnode.runtime.algo;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.train.BatchTensors;

/**
 * Scores whole sequences with a reward model: the {@code score} head at each sequence's last token
 * (algorithms.md §4), in micro-batches, without autograd. With normalisation statistics (the
 * {@code mean}/{@code std} a trained RM stores in its config.json) it returns (r − μ)/s.
 */
public final class RewardScorer {
  private final CausalLm model;
  private final int microBatch;
  private final double mean;
  private final double std;

  /** A scorer returning raw scores. */
  public RewardScorer(CausalLm model, int microBatch) {
    this(model, microBatch, 0.0, 1.0);
  }

  /** A scorer returning (r − mean) / std. */
  public RewardScorer(CausalLm model, int microBatch, double mean, double std) {
    if (!model.hasScoreHead()) {
      throw new IllegalArgumentException("a reward model needs a score head (score.weight)");
    }
    if (microBatch < 1 || !(std > 0)) {
      throw new IllegalArgumentException("micro batch must be >= 1 and std > 0");
    }
    this.model = model;
    this.microBatch = microBatch;
    this.mean = mean;
    this.std = std;
  }

  /**
   * A scorer for a reward model loaded from {@code modelDir}: normalised with the {@code mean} and
   * {@code std} its config.json stores (written by {@code train rm}), raw when it stores none.
   */
  public static RewardScorer forModelDir(CausalLm model, java.nio.file.Path modelDir, int microBatch) {
    java.util.OptionalDouble[] stats = org.rlhfnode.runtime.model.RewardHead.statistics(modelDir);
    return new RewardScorer(model, microBatch, stats[0].orElse(0), stats[1].orElse(1));
  }

  /** One score per token sequence (each prompt + response, unpadded). */
  public double[] score(List<long[]> sequences) {
    double[] out = new double[sequences.size()];
    try (InferenceMode guard = new InferenceMode()) {
      for (int start = 0; start < sequences.size(); start += microBatch) {
        List<long[]> chunk = sequences.subList(start, Math.min(sequences.size(), start + microBatch));
        try (PointerScope scope = new PointerScope()) {
          Batch batch = rightPadded(chunk);
          Tensor perToken = model.scores(model.hidden(BatchTensors.ids(batch, model.device()),
              BatchTensors.attention(batch, model.device()), null)); // [b, L]
          float[] last = Tensors.toFloats(perToken.gather(1, BatchTensors.lastTokenIndex(batch, model.device())));
          for (int i = 0; i < chunk.size(); i++) {
            out[start + i] = (last[i] - mean) / std;
          }
        }
      }
    }
    return out;
  }

  /** Right-pads sequences into a batch (pad id 0, no loss mask). */
  static Batch rightPadded(List<long[]> sequences) {
    int cols = 2;
    for (long[] s : sequences) {
      cols = Math.max(cols, s.length);
    }
    int rows = sequences.size();
    long[] ids = new long[rows * cols];
    long[] att = new long[rows * cols];
    for (int r = 0; r < rows; r++) {
      long[] s = sequences.get(r);
      System.arraycopy(s, 0, ids, r * cols, s.length);
      java.util.Arrays.fill(att, r * cols, r * cols + s.length, 1L);
    }
    return new Batch(rows, cols, ids, att, new long[rows * (cols - 1)]);
  }
}
