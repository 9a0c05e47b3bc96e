package org.rlhfnode.runtime.parallel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.checkpoint.SavedTensors;
import org.rlhfnode.runtime.checkpoint.StateShare;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.train.GradClip;
import org.rlhfnode.runtime.train.ParameterUpdate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ZeRO stages 1–3 (Rajbhandari et al. 2020) over N data-parallel ranks. Each trainable tensor of n
 * elements is split, flattened, into N pieces of c = ⌈n/N⌉ (the last padded with zeros); rank r owns
 * piece r as an fp32 master shard, and AdamW's moments exist only for the shards, so optimizer
 * memory per rank is 1/N (12Ψ/N bytes with bf16 compute, 8Ψ/N + 4Ψ/N masters in fp32).
 * <ul>
 *   <li>stage 1: full gradients are all-reduced; each rank updates its shard and the new weights are
 *       all-gathered into every rank's full model;
 *   <li>stage 2: gradients are reduce-scattered, so each rank receives only the sum of its piece;
 *   <li>stage 3: weights are sharded too: between uses the model's tensors are empty and
 *       {@link ShardedWeights} gathers them per unit (one decoder layer, or the embedding and heads)
 *       just before use; gradients are reduce-scattered unit by unit as the backward pass yields them.
 * </ul>
 * The global gradient norm is √(Σ_ranks Σ_shards ‖g‖²); clipping, weight decay and AdamW are
 * element-wise, so a rank's update of its piece equals that piece of the one-rank update.
 *
 * <p>Over N &gt; 1 ranks a checkpoint is one part per rank ({@link ZeroCheckpoint}): each rank writes its
 * own master pieces and AdamW moments, nothing is gathered; on one rank it is consolidated. Either
 * layout restores on any number of ranks at any stage, each rank reading only its pieces.
 */
public final class ShardedUpdate implements ParameterUpdate {
  private static final Logger LOG = LoggerFactory.getLogger(ShardedUpdate.class);

  private final ShardedWeights weights;
  private final int stage;
  private final AdamW optimizer;
  private final Collectives collectives;
  private final double maxNorm;

  /**
   * @param trainable the model's trainable tensors (any float dtype; fp32 masters are kept)
   * @param stage 1, 2 or 3
   */
  public ShardedUpdate(Map<String, Tensor> trainable, int stage, AdamW.Options adam, double maxNorm,
      Collectives collectives) {
    if (stage < 1 || stage > 3) {
      throw new IllegalArgumentException("ShardedUpdate is ZeRO stage 1, 2 or 3, got " + stage);
    }
    this.stage = stage;
    this.collectives = collectives;
    this.maxNorm = maxNorm;
    this.weights = new ShardedWeights(trainable, collectives, stage == 3);
    this.optimizer = new AdamW(weights.masters(), adam);
  }

  /** The shards and, at stage 3, the gathering of weights per unit. */
  public ShardedWeights weights() {
    return weights;
  }

  public int stage() {
    return stage;
  }

  @Override
  public Outcome apply(long step, double lr) {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      if (stage == 1) {
        weights.allReduceGradients();
      } else {
        weights.reduceScatterGradients(weights.names());
      }
      List<Tensor> grads = GradClip.gradients(weights.masters().values());
      double norm = globalNorm(grads);
      boolean skipped = !Double.isFinite(norm);
      if (skipped) {
        LOG.warn("step {}: gradient norm is {}, update skipped", step + 1, norm);
      } else {
        double coef = maxNorm / (norm + GradClip.EPS);
        if (maxNorm > 0 && coef < 1.0) {
          Scalar factor = new Scalar(coef);
          grads.forEach(g -> g.mul_(factor));
        }
        optimizer.step(lr);
      }
      optimizer.zeroGrad();
      if (!skipped && stage < 3) {
        weights.gatherAllIntoModel();
      }
      return new Outcome(norm, skipped);
    }
  }

  /** √(Σ over ranks of Σ ‖g‖²) over the shard gradients, in float64 across ranks. */
  private double globalNorm(List<Tensor> grads) {
    double local = 0;
    for (Tensor g : grads) {
      double n = torch.linalg_vector_norm(g.to(ScalarType.Float)).item_double();
      local += n * n;
    }
    return Math.sqrt(collectives.sum(local));
  }

  @Override
  public Map<String, Tensor> checkpointWeights() {
    return weights.gatherMasters();
  }

  @Override
  public Map<String, Tensor> exportState() {
    Map<String, Tensor> shards = optimizer.exportState();
    Map<String, Tensor> full = new LinkedHashMap<>();
    for (String name : weights.names()) {
      Tensor m = shards.get(name + AdamW.EXP_AVG);
      if (m == null) {
        continue; // never updated: no state, as with one rank
      }
      full.put(name + AdamW.EXP_AVG, weights.gather(name, m));
      full.put(name + AdamW.EXP_AVG_SQ, weights.gather(name, shards.get(name + AdamW.EXP_AVG_SQ)));
      full.put(name + AdamW.STEP, shards.get(name + AdamW.STEP));
    }
    return full;
  }

  @Override
  public void restore(Map<String, Tensor> full, Map<String, Tensor> optimizerState) {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      weights.loadMasters(full);
      Map<String, Tensor> shards = new LinkedHashMap<>();
      List<String> unknown = new ArrayList<>(optimizerState.keySet());
      for (String name : weights.names()) {
        Tensor m = optimizerState.get(name + AdamW.EXP_AVG);
        Tensor v = optimizerState.get(name + AdamW.EXP_AVG_SQ);
        Tensor k = optimizerState.get(name + AdamW.STEP);
        unknown.removeAll(List.of(name + AdamW.EXP_AVG, name + AdamW.EXP_AVG_SQ, name + AdamW.STEP));
        if (m == null || v == null || k == null) {
          continue; // AdamW.restoreState names any half-present entry
        }
        shards.put(name + AdamW.EXP_AVG, weights.shardOf(name, m));
        shards.put(name + AdamW.EXP_AVG_SQ, weights.shardOf(name, v));
        shards.put(name + AdamW.STEP, k);
      }
      if (!unknown.isEmpty()) {
        throw new IllegalArgumentException("optimizer state has " + unknown.size()
            + " entr(ies) for no parameter, first: " + unknown.get(0));
      }
      optimizer.restoreState(shards);
      if (stage < 3) {
        weights.gatherAllIntoModel();
      }
    }
  }

  @Override
  public StateShare checkpointShare() {
    if (collectives.worldSize() == 1) {
      return new StateShare.Whole(checkpointWeights(), exportState());
    }
    return ZeroCheckpoint.share(weights, optimizer, stage, collectives);
  }

  @Override
  public void restore(SavedTensors saved) {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      ZeroCheckpoint.restore(saved, weights, optimizer, collectives.rank());
      if (stage < 3) {
        weights.gatherAllIntoModel();
      }
    }
  }

  /** Bytes of AdamW moments this rank holds (for the 1/N memory check and {@code bench train}). */
  public long optimizerBytes() {
    return optimizer.stateBytes();
  }

  @Override
  public void close() {
    optimizer.close();
    weights.close();
  }
}
