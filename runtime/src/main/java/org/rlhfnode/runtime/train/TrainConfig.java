package org.rlhfnode.runtime.train;

import java.nio.file.Path;

/**
 * The knobs every trainer shares, named after OpenRLHF's flags ({@code --max_epochs},
 * {@code --micro_train_batch_size}, {@code --train_batch_size}, {@code --learning_rate},
 * {@code --lr_warmup_ratio}, {@code --lr_scheduler}, {@code --max_norm}, {@code --save_steps},
 * {@code --eval_steps}, {@code --logging_steps}, {@code --ckpt_path}, {@code --load_checkpoint},
 * {@code --max_ckpt_num}, {@code --seed}, {@code --bf16}). Checked on construction; the error names
 * the flag.
 *
 * @param maxSteps stop after this many optimizer steps (0 = run all epochs)
 */
public record TrainConfig(
    Path savePath,
    int maxEpochs,
    int microTrainBatchSize,
    int trainBatchSize,
    double learningRate,
    double lrWarmupRatio,
    LrSchedule.Kind lrScheduler,
    double maxNorm,
    AdamW.Options adam,
    long seed,
    int saveSteps,
    int evalSteps,
    int loggingSteps,
    Path ckptPath,
    boolean loadCheckpoint,
    int maxCkptNum,
    boolean bf16,
    long maxSteps) {

  public TrainConfig {
    require(maxEpochs >= 1, "--max_epochs must be >= 1");
    require(microTrainBatchSize >= 1, "--micro_train_batch_size must be >= 1");
    require(trainBatchSize >= microTrainBatchSize && trainBatchSize % microTrainBatchSize == 0,
        "--train_batch_size (" + trainBatchSize + ") must be a multiple of --micro_train_batch_size ("
            + microTrainBatchSize + ")");
    require(learningRate > 0, "--learning_rate must be > 0");
    require(lrWarmupRatio >= 0 && lrWarmupRatio < 1, "--lr_warmup_ratio must be in [0, 1)");
    require(maxNorm >= 0, "--max_norm must be >= 0 (0 = no clipping)");
    require(loggingSteps >= 1, "--logging_steps must be >= 1");
    require(maxCkptNum >= 1, "--max_ckpt_num must be >= 1");
    require(maxSteps >= 0, "--max_steps must be >= 0");
    require(savePath != null, "--save_path is required");
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  /** Micro-batches accumulated per optimizer step (single process: no data-parallel factor). */
  public int accumulationSteps() {
    return trainBatchSize / microTrainBatchSize;
  }

  /** The checkpoint directory: {@code --ckpt_path}, or {@code <save_path>/checkpoints}. */
  public Path checkpointDir() {
    return ckptPath != null ? ckptPath : savePath.resolve("checkpoints");
  }
}
