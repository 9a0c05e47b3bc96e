package org.rlhfnode.runtime.train;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The optimisation loop shared by every offline trainer (SFT, RM, DPO, KTO, C-SFT): gradient
 * accumulation over {@code train_batch_size / micro_train_batch_size} micro-batches with the
 * step-level loss normaliser of algorithms.md §2, global-norm clipping, AdamW with the LR schedule,
 * one {@code PointerScope} per micro-batch. A step whose gradient norm is not finite is skipped
 * (logged), never applied.
 */
public final class Trainer<B> {
  private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

  /** What one optimizer step did. */
  public record StepResult(long step, double loss, double lr, double gradNorm, long tokens, double seconds,
      Map<String, Double> metrics, boolean skipped) {}

  private final TrainConfig config;
  private final Map<String, Tensor> trainable;
  private final Objective<B> objective;
  private final BatchSource<B> source;
  private final AdamW optimizer;
  private final LrSchedule schedule;
  private final MixedPrecision mixedPrecision; // null: the optimizer updates the model's own tensors

  public Trainer(TrainConfig config, Map<String, Tensor> trainable, Objective<B> objective, BatchSource<B> source,
      AdamW optimizer, LrSchedule schedule) {
    this(config, trainable, objective, source, optimizer, schedule, null);
  }

  /**
   * @param trainable the tensors the optimizer updates (the fp32 masters when {@code mixedPrecision}
   *     is given)
   * @param mixedPrecision bf16 compute with fp32 masters, or null
   */
  public Trainer(TrainConfig config, Map<String, Tensor> trainable, Objective<B> objective, BatchSource<B> source,
      AdamW optimizer, LrSchedule schedule, MixedPrecision mixedPrecision) {
    this.config = config;
    this.trainable = trainable;
    this.objective = objective;
    this.source = source;
    this.optimizer = optimizer;
    this.schedule = schedule;
    this.mixedPrecision = mixedPrecision;
  }

  /** Total optimizer steps of the run: ⌈epochs × steps per epoch⌉, capped by {@code max_steps}. */
  public static long totalSteps(TrainConfig config, long stepsPerEpoch) {
    long all = stepsPerEpoch * config.maxEpochs();
    return config.maxSteps() > 0 ? Math.min(all, config.maxSteps()) : all;
  }

  /** Runs optimizer step number {@code step} (0-based) on the next micro-batches of the source. */
  public StepResult step(long step) {
    long start = System.nanoTime();
    List<B> micro = source.nextStep();
    double denominator = objective.stepDenominator(micro);
    double loss = 0;
    long tokens = 0;
    Map<String, Double> metrics = new LinkedHashMap<>();
    for (B batch : micro) {
      try (PointerScope scope = new PointerScope()) {
        Objective.MicroResult r = objective.forward(batch, denominator);
        r.loss().backward();
        loss += r.value();
        tokens += r.tokens();
        r.metrics().forEach((k, v) -> metrics.merge(k, v / micro.size(), Double::sum));
      }
    }
    double gradNorm;
    double lr = schedule.lr(step);
    boolean skipped;
    if (mixedPrecision != null) {
      mixedPrecision.gradientsToMasters();
    }
    try (PointerScope scope = new PointerScope()) {
      Collection<Tensor> params = trainable.values();
      gradNorm = config.maxNorm() > 0 ? GradClip.clipParameters(params, config.maxNorm())
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
    return new StepResult(step + 1, loss, lr, gradNorm, tokens, (System.nanoTime() - start) / 1e9, metrics, skipped);
  }

  public TrainConfig config() {
    return config;
  }

  public BatchSource<B> source() {
    return source;
  }

  public AdamW optimizer() {
    return optimizer;
  }
}
