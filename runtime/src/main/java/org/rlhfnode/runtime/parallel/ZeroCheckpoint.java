package org.rlhfnode.runtime.parallel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.checkpoint.SavedTensors;
import org.rlhfnode.runtime.checkpoint.StateShare;
import org.rlhfnode.runtime.checkpoint.ZeroLayout;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.train.AdamW;

/**
 * A {@link ShardedUpdate}'s checkpoint as one part per rank (DeepSpeed's {@code zero_pp_rank_*} files,
 * resharded on load as its universal checkpoints are). Saving over N ranks, rank r writes what it holds:
 * its fp32 master pieces [r·c, (r+1)·c), c = ⌈n/N⌉, and AdamW's moments and steps of them, in
 * {@link ZeroLayout}'s format; nothing is gathered. Restoring on M ranks at any stage, rank r reads
 * elements [r·c', (r+1)·c'), c' = ⌈n/M⌉, of each tensor from either checkpoint layout: the old pieces
 * that overlap that range (or the range of a consolidated tensor), zeros past n. The pieces and moments
 * are copied bit for bit, so a resumed run repeats the uninterrupted one.
 */
final class ZeroCheckpoint {
  private ZeroCheckpoint() {}

  /** This rank's pieces, moments and steps, and the layout they belong to. */
  static StateShare.Pieces share(ShardedWeights weights, AdamW optimizer, int stage, Collectives c) {
    List<ZeroLayout.Entry> entries = new ArrayList<>();
    Map<String, long[]> shapes = weights.shapes();
    for (String name : weights.names()) {
      long[] shape = shapes.get(name);
      long numel = 1;
      for (long d : shape) {
        numel *= d;
      }
      entries.add(new ZeroLayout.Entry(name, shape, numel, weights.chunk(name),
          NativeTensors.dtype(weights.dtype(name))));
    }
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    weights.masters().forEach((name, master) -> tensors.put(name, master.detach())); // [c] fp32
    tensors.putAll(optimizer.exportState()); // [c] moments, int64 steps, of the tensors updated so far
    return new StateShare.Pieces(new ZeroLayout(c.worldSize(), stage, entries), c.rank(), tensors);
  }

  /** Sets this rank's masters and AdamW state to its pieces of {@code saved}; checks everything first. */
  static void restore(SavedTensors saved, ShardedWeights weights, AdamW optimizer, int rank) {
    saved.requireShapes(weights.shapes());
    Map<String, Tensor> pieces = new LinkedHashMap<>();
    Map<String, Tensor> state = new LinkedHashMap<>();
    for (String name : weights.names()) {
      long c = weights.chunk(name);
      SavedTensors.Slice s = saved.slice(name, rank * c, c);
      pieces.put(name, s.weights());
      if (s.hasMoments()) {
        state.put(name + AdamW.EXP_AVG, s.expAvg());
        state.put(name + AdamW.EXP_AVG_SQ, s.expAvgSq());
        state.put(name + AdamW.STEP, torch.scalar_tensor(new Scalar(s.step()), new TensorOptions(ScalarType.Long)));
      }
    }
    optimizer.restoreState(state); // checks every entry before changing anything
    pieces.forEach(weights::setMaster);
  }
}
