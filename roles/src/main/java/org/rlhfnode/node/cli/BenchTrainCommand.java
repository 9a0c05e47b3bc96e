package org.rlhfnode.node.cli;

import java.util.Arrays;
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
 * batch preparation, forward + loss, backward, clipping + AdamW — unpacked and, with
 * {@code --packing_samples} on rows of random length ({@code --min-len}), packed; and the per-call cost of crossing
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
  @Option(names = "--min-len", description = "Each row's length is drawn uniformly from [min-len, seq-len] (right "
      + "padding); default seq-len (no padding).")
  Integer minLen;
  @Option(names = "--packing_samples", description = "Also time the same batches packed (only real tokens through "
      + "the layers) and report the padding skipped.")
  boolean packing;

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
    int shortest = minLen == null ? seqLen : minLen;
    if (shortest < 2 || shortest > seqLen) {
      throw new IllegalArgumentException("--min-len must be in [2, --seq-len], got " + shortest);
    }
    try (CausalLm model = modelOptions.load()) {
      model.parameters().values().forEach(t -> t.requires_grad_(true));
      SftObjective objective = new SftObjective(model);
      try (AdamW adam = new AdamW(model.parameters(), AdamW.Options.DEFAULTS)) {
        System.out.printf("model %s, %d params, %s, threads %d, micro-batch %d x %d tokens (rows of %d..%d)%n",
            modelOptions.model, model.config().parameterCount(), model.dtype(), torch.get_num_threads(), microBatch,
            seqLen, shortest, seqLen);
        for (boolean packed : packing ? new boolean[] {false, true} : new boolean[] {false}) {
          model.setPacking(packed);
          double[] best = null;
          long tokens = 0;
          for (int s = 0; s <= steps; s++) {
            double[] t = step(objective, model, adam, shortest, new SplittableRandom(seed + s));
            tokens = (long) t[5];
            best = s == 0 ? null : best == null || t[4] < best[4] ? t : best; // step 0 warms up
          }
          String label = packing ? (packed ? "packed:   " : "unpacked: ") : "";
          System.out.printf("%sstep %.2f s = batch prep %.4f s + forward %.2f s + backward %.2f s + optimizer %.2f s%n",
              label, best[4], best[0], best[1], best[2], best[3]);
          System.out.printf("%sthroughput %.1f real tokens/s (%.1f%% of the batch's slots are padding); Java-side "
              + "batch prep %.3f%% of the step%n", label, tokens / best[4],
              100.0 * (microBatch * seqLen - tokens) / (microBatch * seqLen), 100 * best[0] / best[4]);
        }
        if (packing) {
          System.out.println(model.packingTally().describe());
        }
        System.out.printf("one libtorch call from Java costs %.2f us%n", jniCallMicros());
      }
    }
    return 0;
  }

  /** Random tokens, each row {@code [shortest, seq-len]} long and right-padded, every next token a target. */
  private Batch batch(int vocab, int shortest, SplittableRandom rnd) {
    long[] ids = new long[microBatch * seqLen];
    long[] att = new long[ids.length];
    long[] mask = new long[microBatch * (seqLen - 1)];
    for (int b = 0; b < microBatch; b++) {
      int len = shortest + rnd.nextInt(seqLen - shortest + 1);
      for (int t = 0; t < seqLen; t++) {
        ids[b * seqLen + t] = t < len ? rnd.nextInt(3, vocab) : 0;
        att[b * seqLen + t] = t < len ? 1 : 0;
        if (t + 1 < len) {
          mask[b * (seqLen - 1) + t] = 1;
        }
      }
    }
    return new Batch(microBatch, seqLen, ids, att, mask);
  }

  /** Returns {prep, forward, backward, optimizer, total} seconds and the batch's real tokens. */
  private double[] step(Objective<Batch> objective, CausalLm model, AdamW adam, int shortest, SplittableRandom rnd) {
    long t0 = System.nanoTime();
    Batch batch = batch(model.config().vocabSize(), shortest, rnd);
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
    return new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9, (t4 - t0) / 1e9,
        Arrays.stream(batch.attentionMask()).sum()};
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
