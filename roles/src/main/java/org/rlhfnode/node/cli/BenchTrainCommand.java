package org.rlhfnode.node.cli;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.rlhfnode.runtime.algo.SftObjective;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.train.GradClip;
import org.rlhfnode.runtime.train.Objective;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench train}: SFT steps on random tokens (every token a target), timed in phases — Java-side
 * batch preparation, forward + loss, backward, clipping + AdamW — and the per-call cost of crossing
 * into libtorch, so the Java share of a step can be stated. Best of {@code --steps} after a warm-up.
 */
@Command(name = "train", mixinStandardHelpOptions = true, description = "SFT training-step throughput.")
final class BenchTrainCommand implements Callable<Integer> {
  @Mixin ModelOptions modelOptions;
  @Option(names = "--micro-batch", defaultValue = "4") int microBatch;
  @Option(names = "--seq-len", defaultValue = "512") int seqLen;
  @Option(names = "--steps", defaultValue = "3") int steps;
  @Option(names = "--seed", defaultValue = "0") long seed;
  @Option(names = "--ranks", split = ",",
      description = "Data-parallel rank counts to measure, e.g. 1,2 (threads with Gloo on CPU); with --ranks, "
          + "--zero_stage or --gradient_checkpointing the trainer's own step is timed, in one table.")
  List<Integer> ranks;
  @Option(names = "--zero_stage", split = ",", description = "ZeRO stages to measure, e.g. 0,1,2,3.")
  List<Integer> stages;
  @Option(names = "--gradient_checkpointing", description = "Recompute each layer in backward (always on at stage 3).")
  boolean gradientCheckpointing;

  @Override
  public Integer call() {
    if (ranks != null || stages != null || gradientCheckpointing) {
      ranks = ranks == null ? List.of(1) : ranks;
      stages = stages == null ? List.of(0) : stages;
      for (int s : stages) {
        if (s < 0 || s > 3) {
          throw new IllegalArgumentException("--zero_stage must be 0, 1, 2 or 3, got " + s);
        }
      }
      BenchParallelTrain.run(modelOptions, ranks, stages, gradientCheckpointing, microBatch, seqLen, steps, seed);
      return 0;
    }
    try (CausalLm model = modelOptions.load()) {
      model.parameters().values().forEach(t -> t.requires_grad_(true));
      SftObjective objective = new SftObjective(model);
      try (AdamW adam = new AdamW(model.parameters(), AdamW.Options.DEFAULTS)) {
        System.out.printf("model %s, %d params, %s, threads %d, micro-batch %d x %d tokens%n", modelOptions.model,
            model.config().parameterCount(), model.dtype(), torch.get_num_threads(), microBatch, seqLen);
        double[] best = null;
        for (int s = 0; s <= steps; s++) {
          double[] t = step(objective, model, adam, new SplittableRandom(seed + s));
          best = s == 0 ? null : best == null || t[4] < best[4] ? t : best; // step 0 warms up
        }
        double tokens = (double) microBatch * seqLen;
        double jni = jniCallMicros();
        System.out.printf("step %.2f s = batch prep %.4f s + forward %.2f s + backward %.2f s + optimizer %.2f s%n",
            best[4], best[0], best[1], best[2], best[3]);
        System.out.printf("throughput %.1f tokens/s; Java-side batch prep %.3f%% of the step; "
            + "one libtorch call from Java costs %.2f us%n", tokens / best[4], 100 * best[0] / best[4], jni);
      }
    }
    return 0;
  }

  /** Returns {prep, forward, backward, optimizer, total} seconds. */
  private double[] step(Objective<Batch> objective, CausalLm model, AdamW adam, SplittableRandom rnd) {
    int vocab = model.config().vocabSize();
    long t0 = System.nanoTime();
    long[] ids = new long[microBatch * seqLen];
    long[] att = new long[ids.length];
    long[] mask = new long[microBatch * (seqLen - 1)];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = rnd.nextInt(3, vocab);
      att[i] = 1;
    }
    java.util.Arrays.fill(mask, 1L);
    Batch batch = new Batch(microBatch, seqLen, ids, att, mask);
    long t1 = System.nanoTime();
    long t2;
    long t3;
    try (PointerScope scope = new PointerScope()) {
      Objective.MicroResult r = objective.forward(batch, batch.targetTokens());
      t2 = System.nanoTime();
      r.loss().backward();
      t3 = System.nanoTime();
    }
    try (PointerScope scope = new PointerScope()) {
      GradClip.clipParameters(model.parameters().values(), 1.0);
      adam.step(1e-5);
      adam.zeroGrad();
    }
    long t4 = System.nanoTime();
    return new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9, (t4 - t0) / 1e9};
  }

  /** Mean cost of one trivial libtorch call (JNI transition + dispatch), in microseconds. */
  private static double jniCallMicros() {
    try (PointerScope scope = new PointerScope()) {
      Tensor t = torch.zeros(1);
      org.bytedeco.pytorch.Scalar one = new org.bytedeco.pytorch.Scalar(1.0);
      for (int i = 0; i < 20_000; i++) {
        t.add_(one);
      }
      long start = System.nanoTime();
      for (int i = 0; i < 100_000; i++) {
        t.add_(one);
      }
      return (System.nanoTime() - start) / 1e3 / 100_000;
    }
  }
}
