package org.rlhfnode.runtime.train;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.checkpoint.SavedTensors;
import org.rlhfnode.runtime.checkpoint.StateShare;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.tensor.Tensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every rank holds the whole model and the whole AdamW state (one rank, or ZeRO stage 0): the
 * gradients (moved onto the fp32 masters under bf16) are summed over the ranks in buckets of
 * {@link GradientBuckets#BUCKET_BYTES}, clipped to the global norm and applied by each rank alike.
 */
public final class LocalUpdate implements ParameterUpdate {
  private static final Logger LOG = LoggerFactory.getLogger(LocalUpdate.class);

  private final Map<String, Tensor> updated; // the tensors AdamW updates: the trainables or their fp32 masters
  private final AdamW optimizer;
  private final MixedPrecision mixedPrecision; // null: AdamW updates the model's own tensors
  private final Collectives collectives;
  private final double maxNorm;

  /**
   * @param trainable the model's trainable tensors
   * @param bf16 keep fp32 masters for bf16 trainables
   * @param maxNorm clip to this global norm (≤ 0 = measure only)
   */
  public LocalUpdate(Map<String, Tensor> trainable, boolean bf16, AdamW.Options adam, double maxNorm,
      Collectives collectives) {
    this.mixedPrecision = bf16 ? new MixedPrecision(trainable) : null;
    this.updated = mixedPrecision == null ? trainable : mixedPrecision.masters();
    this.optimizer = new AdamW(updated, adam);
    this.collectives = collectives;
    this.maxNorm = maxNorm;
  }

  /** One rank, the given optimizer over {@code trainable} (closed with this update). */
  public LocalUpdate(Map<String, Tensor> trainable, AdamW optimizer, double maxNorm) {
    this.mixedPrecision = null;
    this.updated = trainable;
    this.optimizer = optimizer;
    this.collectives = Collectives.single();
    this.maxNorm = maxNorm;
  }

  @Override
  public Outcome apply(long step, double lr) {
    if (mixedPrecision != null) {
      mixedPrecision.gradientsToMasters();
    }
    double gradNorm;
    boolean skipped;
    try (PointerScope scope = new PointerScope()) {
      Collection<Tensor> params = updated.values();
      if (collectives.worldSize() > 1) {
        GradientBuckets.alignPresence(params, collectives);
        GradientBuckets.allReduce(GradClip.gradients(params), collectives);
      }
      gradNorm = maxNorm > 0 ? GradClip.clipParameters(params, maxNorm)
          : GradClip.globalNorm(GradClip.gradients(params));
      skipped = !Double.isFinite(gradNorm);
      if (skipped) {
        LOG.warn("step {}: gradient norm is {}, update skipped", step + 1, gradNorm);
      } else {
        optimizer.step(lr);
      }
      optimizer.zeroGrad();
    }
    if (mixedPrecision != null && !skipped) {
      mixedPrecision.mastersToCompute();
    }
    return new Outcome(gradNorm, skipped);
  }

  @Override
  public Map<String, Tensor> checkpointWeights() {
    return updated;
  }

  @Override
  public Map<String, Tensor> exportState() {
    return optimizer.exportState();
  }

  @Override
  public void restore(Map<String, Tensor> weights, Map<String, Tensor> optimizerState) {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : updated.entrySet()) {
        e.getValue().detach().copy_(required(weights, e.getKey()));
      }
    }
    if (mixedPrecision != null) {
      mixedPrecision.mastersToCompute();
    }
    optimizer.restoreState(optimizerState);
  }

  @Override
  public StateShare checkpointShare() {
    return new StateShare.Whole(checkpointWeights(), exportState());
  }

  /** Every rank reads the whole tensors: those of a ZeRO checkpoint are assembled from all its pieces. */
  @Override
  public void restore(SavedTensors saved) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    updated.forEach((name, t) -> shapes.put(name, Tensors.shape(t)));
    saved.requireShapes(shapes);
    try (PointerScope scope = new PointerScope()) {
      restore(saved.wholeWeights(), saved.wholeOptimizer());
    }
  }

  /** The optimizer (tests read its step counts). */
  public AdamW optimizer() {
    return optimizer;
  }

  static Tensor required(Map<String, Tensor> weights, String name) {
    Tensor t = weights.get(name);
    if (t == null) {
      throw new IllegalArgumentException("the checkpoint lacks tensor " + name);
    }
    return t;
  }

  @Override
  public void close() {
    optimizer.close();
    if (mixedPrecision != null) {
      mixedPrecision.close();
    }
  }
}
