package org.rlhfnode.runtime.parallel;

import java.util.Map;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.train.LocalUpdate;
import org.rlhfnode.runtime.train.ParameterUpdate;

/**
 * How a trainer rank uses its group and memory: {@code --zero_stage} (0: every rank holds everything
 * and gradients are all-reduced; 1–3: {@link ShardedUpdate}) and {@code --gradient_checkpointing}
 * ({@link LayerTape}; always on at stage 3, whose weights exist only while a layer runs).
 *
 * @param zeroStage 0, 1, 2 or 3
 * @param gradientCheckpointing recompute each layer in backward
 */
public record Parallelism(int zeroStage, boolean gradientCheckpointing) {
  public Parallelism {
    if (zeroStage < 0 || zeroStage > 3) {
      throw new IllegalArgumentException("--zero_stage must be 0, 1, 2 or 3, got " + zeroStage);
    }
  }

  /**
   * The update and, with gradient checkpointing or at ZeRO-3, the layer tape installed on {@code model}.
   *
   * @param bf16 keep fp32 masters for bf16 trainables (stage 0; stages 1–3 always keep fp32 master shards)
   * @param rng the generator the model's layers draw from (LoRA dropout), or null
   * @param adapters whether {@code trainable} holds LoRA adapters rather than the model's weights
   */
  public Prepared prepare(CausalLm model, Map<String, Tensor> trainable, boolean bf16, AdamW.Options adam,
      double maxNorm, Collectives collectives, Generator rng, boolean adapters) {
    if (zeroStage == 3 && adapters) {
      throw new IllegalArgumentException("--zero_stage 3 shards the model's weights, but with --lora_rank only the "
          + "small adapters train: use --zero_stage 0, 1 or 2 with LoRA");
    }
    ParameterUpdate update = zeroStage == 0 ? new LocalUpdate(trainable, bf16, adam, maxNorm, collectives)
        : new ShardedUpdate(trainable, zeroStage, adam, maxNorm, collectives);
    LayerTape tape = null;
    if (gradientCheckpointing || zeroStage == 3) {
      tape = LayerTape.install(model, zeroStage == 3 ? ((ShardedUpdate) update).weights() : null, rng);
    }
    return new Prepared(update, tape, model);
  }

  /** The update and tape of one rank; closing removes the tape and frees the optimizer. */
  public record Prepared(ParameterUpdate update, LayerTape tape, CausalLm model) implements AutoCloseable {
    /**
     * What the trainer runs after each micro-batch's backward: the tape's layer-wise backward, and at
     * ZeRO-2 the reduce-scatter of the micro-batch's gradients, so that full gradients live for one
     * micro-batch only (ZeRO-3 reduces layer by layer inside the tape).
     */
    public Runnable afterBackward() {
      Runnable layers = tape == null ? () -> { } : tape::backward;
      if (update instanceof ShardedUpdate sharded && sharded.stage() == 2) {
        ShardedWeights w = sharded.weights();
        return () -> {
          layers.run();
          w.reduceScatterGradients(w.names());
        };
      }
      return layers;
    }

    /** ZeRO-3: empties gathered weights after an evaluation or an export. */
    public void releaseAll() {
      if (tape != null) {
        tape.releaseAll();
      }
    }

    /** ZeRO-3: gathers every weight into the model (before it is read whole); collective. */
    public void materializeAll() {
      if (tape != null) {
        tape.materializeAll();
      }
    }

    @Override
    public void close() {
      model.setLayerRunner(null);
      update.close();
    }
  }
}
