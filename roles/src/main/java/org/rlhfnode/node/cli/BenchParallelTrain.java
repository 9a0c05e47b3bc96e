package org.rlhfnode.node.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.algo.SftObjective;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.parallel.Parallelism;
import org.rlhfnode.runtime.parallel.ShardedUpdate;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.train.BatchSource;
import org.rlhfnode.runtime.train.LocalUpdate;
import org.rlhfnode.runtime.train.LrSchedule;
import org.rlhfnode.runtime.train.ParameterUpdate;
import org.rlhfnode.runtime.train.TrainConfig;
import org.rlhfnode.runtime.train.Trainer;
import org.rlhfnode.runtime.transport.RankGroup;

/**
 * {@code bench train --ranks 1,2 --zero_stage 0,1,2,3 [--gradient_checkpointing]}: data-parallel SFT
 * steps on random tokens, each rank one micro-batch per step (so N ranks do N times the work of one);
 * per configuration the best step time, the time rank 0 waited in collectives, the state bytes one
 * rank holds (weights, fp32 master shards, AdamW moments, measured from its tensors) and the process's
 * peak RSS so far (VmHWM: run one configuration per process to compare peaks).
 */
final class BenchParallelTrain {
  private BenchParallelTrain() {}

  /** One rank's measurements. */
  private record Result(double stepSeconds, double collectiveSeconds, long weightBytes, long masterBytes,
      long optimizerBytes) {}

  static void run(ModelOptions model, List<Integer> ranks, List<Integer> stages, boolean checkpointing,
      int microBatch, int seqLen, int steps, long seed) {
    org.rlhfnode.runtime.tensor.CpuThreads.configure(model.threads);
    System.out.printf("%-5s %-5s %-4s %10s %12s %12s %12s %12s %10s%n", "ranks", "zero", "gc", "step_s", "collective_s",
        "weights_MB", "masters_MB", "adam_MB", "vmhwm_MB");
    for (int n : ranks) {
      for (int stage : stages) {
        if (n == 1 && stage > 0) {
          continue; // one rank has nothing to shard
        }
        boolean gc = checkpointing || stage == 3;
        List<Result> all = RankGroup.run(n, Duration.ofMinutes(10), "bench",
            c -> rank(model, c, stage, gc, microBatch, seqLen, steps, seed));
        Result r = all.get(0);
        System.out.printf("%-5d %-5d %-4s %10.3f %12.3f %12.1f %12.1f %12.1f %10.0f%n", n, stage, gc ? "on" : "off",
            r.stepSeconds, r.collectiveSeconds, r.weightBytes / 1e6, r.masterBytes / 1e6, r.optimizerBytes / 1e6,
            peakRssMb());
      }
    }
  }

  private static Result rank(ModelOptions options, Collectives c, int stage, boolean gc, int microBatch, int seqLen,
      int steps, long seed) {
    try (CausalLm model = ModelLoader.load(options.model, DeviceSpec.parse(options.device),
        ModelOptions.parseDtype(options.dtype))) {
      Map<String, Tensor> params = model.parameters();
      params.values().forEach(t -> t.requires_grad_(true));
      long fullBytes = params.values().stream().mapToLong(t -> t.numel() * t.element_size()).sum();
      TrainConfig cfg = new TrainConfig(Path.of("unused"), 1, microBatch, microBatch * c.worldSize(), 1e-5, 0,
          LrSchedule.Kind.CONSTANT_WITH_WARMUP, 1.0, AdamW.Options.DEFAULTS, seed, -1, -1, 1, null, false, 1, false, 0);
      try (Parallelism.Prepared prepared = new Parallelism(stage, gc).prepare(model, params, false, cfg.adam(), 1.0,
          c, null, false)) {
        ParameterUpdate update = prepared.update();
        Trainer<Batch> trainer = new Trainer<>(cfg, new SftObjective(model),
            new RandomTokens(model.config().vocabSize(), microBatch, seqLen, c.worldSize(), seed), update,
            LrSchedule.of(LrSchedule.Kind.CONSTANT_WITH_WARMUP, 1e-5, 1000, 0), c, prepared.afterBackward());
        double best = Double.MAX_VALUE;
        double collective = 0;
        for (int s = 0; s <= steps; s++) {
          long before = c.busyNanos();
          double t = trainer.step(s).seconds();
          if (s > 0 && t < best) { // step 0 warms up
            best = t;
            collective = (c.busyNanos() - before) / 1e9;
          }
        }
        if (update instanceof ShardedUpdate sharded) {
          return new Result(best, collective, sharded.weights().modelBytes(), sharded.weights().masterBytes(),
              sharded.optimizerBytes());
        }
        return new Result(best, collective, fullBytes, 0, ((LocalUpdate) update).optimizer().stateBytes());
      }
    }
  }

  /** Peak resident set of this process (VmHWM), in MB; 0 where /proc is not there. */
  static double peakRssMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
    return 0;
  }

  /** Every token a random target; {@code ranks} micro-batches per step. */
  static final class RandomTokens implements BatchSource<Batch> {
    private final int vocab;
    private final int rows;
    private final int length;
    private final int perStep;
    private final SplittableRandom rnd;

    RandomTokens(int vocab, int rows, int length, int perStep, long seed) {
      this.vocab = vocab;
      this.rows = rows;
      this.length = length;
      this.perStep = perStep;
      this.rnd = new SplittableRandom(seed);
    }

    @Override
    public List<Batch> nextStep() {
      List<Batch> out = new ArrayList<>();
      for (int m = 0; m < perStep; m++) {
        long[] ids = new long[rows * length];
        long[] att = new long[ids.length];
        long[] mask = new long[rows * (length - 1)];
        for (int i = 0; i < ids.length; i++) {
          ids[i] = rnd.nextInt(3, vocab);
        }
        Arrays.fill(att, 1L);
        Arrays.fill(mask, 1L);
        out.add(new Batch(rows, length, ids, att, mask));
      }
      return out;
    }

    @Override
    public long stepsPerEpoch() {
      return Long.MAX_VALUE / 4;
    }

    @Override
    public Map<String, Object> cursor() {
      return Map.of();
    }

    @Override
    public void restore(Map<String, Object> cursor) {}
  }
}
