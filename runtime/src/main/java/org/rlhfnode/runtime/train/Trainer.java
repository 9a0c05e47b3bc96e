package org.rlhfnode.runtime.train;

import java.util.List;
import java.util.Map;
import java.util.LinkedHashMap;
import org.bytedeco.javacpp.PointerScope;
import org.rlhfnode.runtime.dist.Collectives;

/**
 * The optimisation loop shared by every offline trainer (SFT, RM, DPO, KTO, C-SFT): gradient
 * accumulation over {@code train_batch_size / micro_train_batch_size} micro-batches with the
 * step-level loss normaliser of algorithms.md §2, then a {@link ParameterUpdate} (global-norm
 * clipping, AdamW with the LR schedule), one {@code PointerScope} per micro-batch. A step whose
 * gradient norm is not finite is skipped (logged), never applied.
 *
 * <p>Data parallel over N ranks ({@code --ranks}): every rank reads the step's micro-batches alike
 * and computes the normaliser over all of them, then rank r runs forward and backward on the r-th
 * of N equal runs of consecutive micro-batches. Each micro-loss is already divided by the global
 * normaliser, so summing gradients over the ranks gives exactly the one-rank step's gradient (up to
 * the order of float additions); {@code train_batch_size} stays global, as in OpenRLHF.
 */
public final class Trainer<B> {
  /** What one optimizer step did. */
  public record StepResult(long step, double loss, double lr, double gradNorm, long tokens, double seconds,
      Map<String, Double> metrics, boolean skipped) {}

  private final TrainConfig config;
  private final Objective<B> objective;
  private final BatchSource<B> source;
  private final ParameterUpdate update;
  private final LrSchedule schedule;
  private final Collectives collectives;
  private final Runnable afterBackward;

  /** One rank, no hook. */
  public Trainer(TrainConfig config, Objective<B> objective, BatchSource<B> source, ParameterUpdate update,
      LrSchedule schedule) {
    this(config, objective, source, update, schedule, Collectives.single(), () -> { });
  }

  /**
   * @param collectives this rank's data-parallel group
   * @param afterBackward runs after each micro-batch's {@code backward()}, inside its scope (the
   *     layer-wise backward of gradient checkpointing and ZeRO-3)
   */
  public Trainer(TrainConfig config, Objective<B> objective, BatchSource<B> source, ParameterUpdate update,
      LrSchedule schedule, Collectives collectives, Runnable afterBackward) {
    if (config.accumulationSteps() % collectives.worldSize() != 0) {
      throw new IllegalArgumentException("--train_batch_size (" + config.trainBatchSize() + ") must be a multiple of "
          + "--micro_train_batch_size × --ranks (" + config.microTrainBatchSize() + " × " + collectives.worldSize() + ")");
    }
    this.config = config;
    this.objective = objective;
    this.source = source;
    this.update = update;
    this.schedule = schedule;
    this.collectives = collectives;
    this.afterBackward = afterBackward;
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
    int share = micro.size() / collectives.worldSize();
    List<B> mine = micro.subList(collectives.rank() * share, (collectives.rank() + 1) * share);
    double loss = 0;
    long tokens = 0;
    Map<String, Double> metrics = new LinkedHashMap<>();
    for (B batch : mine) {
      try (PointerScope scope = new PointerScope()) {
        Objective.MicroResult r = objective.forward(batch, denominator);
        r.loss().backward();
        afterBackward.run();
        loss += r.value();
        tokens += r.tokens();
        r.metrics().forEach((k, v) -> metrics.merge(k, v / micro.size(), Double::sum));
      }
    }
    if (collectives.worldSize() > 1) { // one all-reduce: loss, tokens, then the metrics in insertion order
      double[] parts = new double[2 + metrics.size()];
      parts[0] = loss;
      parts[1] = tokens;
      int i = 2;
      for (double v : metrics.values()) {
        parts[i++] = v;
      }
      double[] total = collectives.sum(parts);
      loss = total[0];
      tokens = Math.round(total[1]);
      i = 2;
      for (Map.Entry<String, Double> e : metrics.entrySet()) {
        e.setValue(total[i++]);
      }
    }
    double lr = schedule.lr(step);
    ParameterUpdate.Outcome o = update.apply(step, lr);
    return new StepResult(step + 1, loss, lr, o.gradNorm(), tokens, (System.nanoTime() - start) / 1e9, metrics,
        o.skipped());
  }

  public TrainConfig config() {
    return config;
  }

  public BatchSource<B> source() {
    return source;
  }

  public ParameterUpdate update() {
    return update;
  }

  public Collectives collectives() {
    return collectives;
  }
}
