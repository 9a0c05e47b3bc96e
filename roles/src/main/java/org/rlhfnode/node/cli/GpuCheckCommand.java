package org.rlhfnode.node.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.algo.SftObjective;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.parallel.Parallelism;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.train.LrSchedule;
import org.rlhfnode.runtime.train.TrainConfig;
import org.rlhfnode.runtime.train.Trainer;
import org.rlhfnode.runtime.transport.RankGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gpu-check}: what a user with GPUs runs once (examples/gpu-check.sh) to see that the GPU path
 * computes what the CPU path does: (1) CUDA forward = CPU forward of {@code --model} (fp32 logits),
 * (2) an NCCL all-reduce over every visible GPU (sum checked, bus bandwidth printed), (3) three SFT
 * steps at ZeRO-3 on two GPUs = the same steps on one GPU. One line per check; exit 1 if one fails.
 */
@Command(name = "gpu-check", mixinStandardHelpOptions = true,
    description = "Check CUDA forward = CPU forward, NCCL all-reduce, and a 2-rank ZeRO-3 step.")
final class GpuCheckCommand implements Callable<Integer> {
  private static final Duration TIMEOUT = Duration.ofMinutes(5);

  @Option(names = "--model", required = true, paramLabel = "DIR", converter = ModelDirectory.class,
      description = "A small HF model directory, or org/name from the local HuggingFace hub cache.")
  Path model;

  @Option(names = "--allreduce-mb", defaultValue = "256", description = "All-reduce size (default: ${DEFAULT-VALUE}).")
  int allReduceMb;

  @Override
  public Integer call() {
    long gpus = torch.cuda_device_count();
    if (gpus < 1) {
      throw new IllegalArgumentException("libtorch sees no CUDA device: run the gpu build (mvn -B package -Pgpu) "
          + "on a machine with NVIDIA GPUs");
    }
    boolean ok = forwardMatches();
    if (gpus >= 2) {
      ok &= allReduce((int) gpus);
      ok &= zero3StepMatches();
    } else {
      System.out.println("nccl all-reduce and 2-rank ZeRO-3: skipped (1 GPU visible)");
    }
    return ok ? 0 : 1;
  }

  private boolean forwardMatches() {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard();
        CausalLm cpu = ModelLoader.load(model, DeviceSpec.CPU, ScalarType.Float);
        CausalLm gpu = ModelLoader.load(model, DeviceSpec.parse("cuda:0"), ScalarType.Float)) {
      torch.manual_seed(0);
      int vocab = cpu.config().vocabSize();
      Tensor ids = torch.randint(3, vocab, new long[] {2, 64}, Tensors.options(ScalarType.Long, DeviceSpec.CPU));
      Tensor mask = torch.ones(new long[] {2, 64}, Tensors.options(ScalarType.Long, DeviceSpec.CPU));
      Tensor a = cpu.forward(ids, mask); // [2, 64, V]
      Tensor b = gpu.forward(ids.to(gpu.device().torchDevice(), ScalarType.Long),
          mask.to(gpu.device().torchDevice(), ScalarType.Long)).to(DeviceSpec.CPU.torchDevice(), ScalarType.Float);
      double diff = a.sub(b).abs().max().item_double();
      boolean ok = diff <= 1e-4;
      System.out.printf("cuda forward vs cpu forward: max |Δ logit| %.3g over %d logits: %s%n", diff, a.numel(),
          ok ? "ok" : "FAILED (> 1e-4)");
      return ok;
    }
  }

  private boolean allReduce(int gpus) {
    List<Integer> devices = new ArrayList<>();
    for (int i = 0; i < gpus; i++) {
      devices.add(i);
    }
    long n = allReduceMb * (1L << 20) / 4;
    List<double[]> out = RankGroup.runNccl(devices, TIMEOUT, "gpu-check", c -> {
      try (PointerScope scope = new PointerScope()) {
        Tensor t = torch.full(new long[] {n}, new Scalar(c.rank() + 1.0), Tensors.options(ScalarType.Float,
            c.device()));
        c.allReduceSum(t); // warm-up: creates the communicator
        t.fill_(new Scalar(c.rank() + 1.0));
        c.barrier();
        long start = System.nanoTime();
        c.allReduceSum(t);
        double got = t.max().item_double(); // waits for the stream
        double seconds = (System.nanoTime() - start) / 1e9;
        return new double[] {got, seconds};
      }
    });
    double want = gpus * (gpus + 1) / 2.0;
    double seconds = out.stream().mapToDouble(r -> r[1]).max().orElseThrow();
    double busGbps = 2.0 * (gpus - 1) / gpus * n * 4 / seconds / 1e9;
    boolean ok = out.stream().allMatch(r -> r[0] == want);
    System.out.printf("nccl all-reduce of %d MB over %d GPUs: %.2f ms, bus bandwidth %.1f GB/s, sum %s%n",
        allReduceMb, gpus, seconds * 1e3, busGbps, ok ? "ok" : "FAILED");
    return ok;
  }

  private boolean zero3StepMatches() {
    double[] one = RankGroup.runNccl(List.of(0), TIMEOUT, "gpu-check", c -> steps(c, 0)).get(0);
    double[] two = RankGroup.runNccl(List.of(0, 1), TIMEOUT, "gpu-check", c -> steps(c, 3)).get(0);
    double worst = 0;
    for (int i = 0; i < one.length; i++) {
      worst = Math.max(worst, Math.abs(one[i] - two[i]) / Math.abs(one[i]));
    }
    boolean ok = worst <= 1e-4;
    System.out.printf("zero-3 on 2 GPUs vs 1 GPU, %d SFT steps: losses %s vs %s, max relative Δ %.2g: %s%n",
        one.length, java.util.Arrays.toString(one), java.util.Arrays.toString(two), worst, ok ? "ok" : "FAILED");
    return ok;
  }

  /** Three SFT steps on random tokens, two micro-batches per step split over the ranks; the losses. */
  private double[] steps(Collectives c, int stage) {
    try (CausalLm m = ModelLoader.load(model, c.device(), ScalarType.Float)) {
      var params = m.parameters();
      params.values().forEach(t -> t.requires_grad_(true));
      TrainConfig cfg = new TrainConfig(Path.of("unused"), 1, 2, 4, 1e-3, 0, LrSchedule.Kind.CONSTANT_WITH_WARMUP,
          1.0, AdamW.Options.DEFAULTS, 0, -1, -1, 1, null, false, 1, false, 0);
      try (Parallelism.Prepared prepared = new Parallelism(stage, false).prepare(m, params, false, cfg.adam(), 1.0,
          c, null, false)) {
        Trainer<Batch> trainer = new Trainer<>(cfg, new SftObjective(m),
            new BenchParallelTrain.RandomTokens(m.config().vocabSize(), 2, 64, 2, 7), prepared.update(),
            LrSchedule.of(LrSchedule.Kind.CONSTANT_WITH_WARMUP, 1e-3, 100, 0), c, prepared.afterBackward());
        double[] losses = new double[3];
        for (int s = 0; s < losses.length; s++) {
          losses[s] = trainer.step(s).loss();
        }
        return losses;
      }
    }
  }
}
