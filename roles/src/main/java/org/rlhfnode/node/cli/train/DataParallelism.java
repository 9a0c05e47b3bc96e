package org.rlhfnode.node.cli.train;

import java.util.Map;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.parallel.Parallelism;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.train.TrainConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The offline trainers' {@code --zero_stage}, {@code --gradient_checkpointing} and {@code --adam_offload}
 * settings, checked, and the {@link Parallelism} they give this rank.
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
    if (collectives.worldSize() > 1 && s.integer("lora.lora_rank") > 0 && s.number("lora.lora_dropout") > 0) {
      throw new IllegalArgumentException("--lora_dropout with --ranks " + collectives.worldSize() + ": every rank would "
          + "draw the same dropout masks for different micro-batches, so the run would not be the one-rank run; "
          + "use --lora_dropout 0 or one rank");
    }
    return new DataParallelism(collectives, stage, s.bool("train.gradient_checkpointing"));
  }

  /**
   * The update and, with gradient checkpointing or at ZeRO-3, the layer tape installed on {@code model}.
   *
   * @param rng the generator the model's layers draw from (LoRA dropout), or null
   * @param adapters whether {@code trainable} holds LoRA adapters rather than the model's weights
   */
  Parallelism.Prepared prepare(CausalLm model, Map<String, Tensor> trainable, TrainConfig config, Generator rng,
      boolean adapters) {
    return new Parallelism(zeroStage, gradientCheckpointing).prepare(model, trainable, config.bf16(), config.adam(),
        config.maxNorm(), collectives, rng, adapters);
  }
}
