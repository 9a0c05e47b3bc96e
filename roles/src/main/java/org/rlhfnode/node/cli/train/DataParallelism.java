package org.rlhfnode.node.cli.train;

import java.util.Map;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.parallel.LayerTape;
import org.rlhfnode.runtime.parallel.ShardedUpdate;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.train.LocalUpdate;
import org.rlhfnode.runtime.train.ParameterUpdate;
import org.rlhfnode.runtime.train.TrainConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a trainer uses its ranks and memory: {@code --zero_stage} (0: every rank holds everything and
 * gradients are all-reduced; 1–3: {@link ShardedUpdate}), {@code --gradient_checkpointing}
 * ({@link LayerTape}) and {@code --adam_offload}.
 */
final class DataParallelism {
  private static final Logger LOG = LoggerFactory.getLogger(DataParallelism.class);

  private final Collectives collectives;
  private final int zeroStage;
  private final boolean gradientCheckpointing;

  private DataParallelism(Collectives collectives, int zeroStage, boolean gradientCheckpointing) {
    this.collectives = collectives;
    this.zeroStage = zeroStage;
    this.gradientCheckpointing = gradientCheckpointing;
  }

  static DataParallelism of(TrainSettings s, Collectives collectives) {
    int stage = s.integer("train.zero_stage");
    if (stage < 0 || stage > 3) {
      throw new IllegalArgumentException("--zero_stage must be 0, 1, 2 or 3, got " + stage);
    }
    if (s.bool("train.adam_offload")) {
      if (DeviceSpec.parse(s.string("model.device")).cuda()) {
        throw new IllegalArgumentException("--adam_offload on a CUDA device is not implemented yet: the optimizer "
            + "state stays on the device (use --zero_stage 3 over more ranks to divide it)");
      }
      if (collectives.isFirst()) {
        LOG.info("--adam_offload has no effect on a CPU run: the optimizer state is in host memory already");
      }
    }
    return new DataParallelism(collectives, stage, s.bool("train.gradient_checkpointing"));
  }

  /**
   * The update and, with gradient checkpointing or at ZeRO-3, the layer tape installed on {@code model}.
   *
   * @param rng the generator the model's layers draw from (LoRA dropout), or null
   * @param adapters whether {@code trainable} holds LoRA adapters rather than the model's weights
   */
  Prepared prepare(CausalLm model, Map<String, Tensor> trainable, TrainConfig config, Generator rng,
      boolean adapters) {
    if (zeroStage == 3 && adapters) {
      throw new IllegalArgumentException("--zero_stage 3 shards the model's weights, but with --lora_rank only the "
          + "small adapters train: use --zero_stage 0, 1 or 2 with LoRA");
    }
    ParameterUpdate update = zeroStage == 0
        ? new LocalUpdate(trainable, config.bf16(), config.adam(), config.maxNorm(), collectives)
        : new ShardedUpdate(trainable, zeroStage, config.adam(), config.maxNorm(), collectives);
    LayerTape tape = null;
    if (gradientCheckpointing || zeroStage == 3) {
      tape = LayerTape.install(model, zeroStage == 3 ? ((ShardedUpdate) update).weights() : null, rng);
    }
    return new Prepared(update, tape, model);
  }

  /** The update and tape of one run; closing removes the tape and frees the optimizer. */
  record Prepared(ParameterUpdate update, LayerTape tape, CausalLm model) implements AutoCloseable {
    /** What the trainer runs after each micro-batch's backward. */
    Runnable afterBackward() {
      return tape == null ? () -> { } : tape::backward;
    }

    /** ZeRO-3: empties gathered weights after an evaluation. */
    void releaseAll() {
      if (tape != null) {
        tape.releaseAll();
      }
    }

    /** ZeRO-3: gathers every weight into the model (before it is saved); collective. */
    void materializeAll() {
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
