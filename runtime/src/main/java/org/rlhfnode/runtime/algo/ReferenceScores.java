package org.rlhfnode.runtime.algo;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.rlhfnode.runtime.data.Collator;
import org.rlhfnode.runtime.data.PairExample;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * Reference log-prob sums S_ref(y|x) of every preference pair, computed once before DPO training
 * (algorithms.md §5: they never need gradients), so the reference model can be freed for the run.
 * Looked up per example, in whatever order the shuffled batches bring them.
 */
public final class ReferenceScores {
  private final Map<PairExample, float[]> sums; // example → {chosen, rejected}

  private ReferenceScores(Map<PairExample, float[]> sums) {
    this.sums = sums;
  }

  /** Scores {@code examples} with {@code reference} in batches of {@code batchSize}. */
  public static ReferenceScores compute(CausalLm reference, Collator collator, List<PairExample> examples,
      int batchSize) {
    Map<PairExample, float[]> out = new IdentityHashMap<>();
    try (InferenceMode guard = new InferenceMode()) {
      for (int start = 0; start < examples.size(); start += batchSize) {
        List<PairExample> chunk = examples.subList(start, Math.min(examples.size(), start + batchSize));
        try (PointerScope scope = new PointerScope()) {
          float[] s = Tensors.toFloats(DpoObjective.referenceSums(reference, collator.collatePairs(chunk).batch()));
          for (int i = 0; i < chunk.size(); i++) {
            out.put(chunk.get(i), new float[] {s[i], s[chunk.size() + i]});
          }
        }
      }
    }
    return new ReferenceScores(out);
  }

  /** [2P] sums for a batch, chosen rows first, as {@link Collator#collatePairs} lays them out. */
  public float[] lookup(List<PairExample> batch) {
    int p = batch.size();
    float[] out = new float[2 * p];
    for (int i = 0; i < p; i++) {
      float[] s = sums.get(batch.get(i));
      if (s == null) {
        throw new IllegalStateException("no precomputed reference score for a training pair");
      }
      out[i] = s[0];
      out[p + i] = s[1];
    }
    return out;
  }
}
