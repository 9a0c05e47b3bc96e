package org.rlhfnode.node.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.TensorParallel;
import org.rlhfnode.runtime.tensor.CpuThreads;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.transport.RankGroup;
import picocli.CommandLine.Option;

/** Options shared by every command that loads a model: directory, device, dtype, threads. */
public final class ModelOptions {
  /**
   * Bound on forming a tensor-parallel group and on each of its collectives. A rank that finishes
   * loading early waits in its first collective for the slowest rank's load, so this covers a load.
   */
  static final Duration TP_TIMEOUT = Duration.ofMinutes(10);

  @Option(names = "--model", required = true, paramLabel = "DIR", converter = ModelDirectory.class,
      description = "HuggingFace model directory (config.json + *.safetensors), or org/name[@revision] from "
          + "the local HuggingFace hub cache (HF_HUB_CACHE, HF_HOME; nothing is downloaded).")
  Path model;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda:N (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--dtype", defaultValue = "float32",
      description = "Compute dtype: float32 or bfloat16 (default: ${DEFAULT-VALUE}).")
  String dtype;

  @Option(names = "--threads", defaultValue = "0",
      description = "libtorch intra-op threads (0 = all cores).")
  int threads;

  /** Applies the thread setting and loads the model. */
  CausalLm load() {
    CpuThreads.configure(threads);
    return ModelLoader.load(model, DeviceSpec.parse(device), parseDtype(dtype));
  }

  /** What each tensor-parallel rank does with its part of the model. */
  @FunctionalInterface
  interface RankBody<T> {
    T run(CausalLm model, TensorParallel tp) throws Exception;
  }

  /**
   * Loads the model as {@code --tp} ranks, one thread each (on CPU a Gloo group on 127.0.0.1), each
   * rank reading only its slices, and runs {@code body} on every rank; returns the ranks' results in rank
   * order. {@code --threads 0} shares the cores among the ranks. On CUDA rank r uses device
   * {@code cuda:(N + r)} for {@code --device cuda:N} and the ranks form an NCCL group. With
   * {@code tp} 1 the body runs on the calling thread over the model {@link #load()} would give.
   */
  <T> List<T> onRanks(int tp, String name, RankBody<T> body) {
    if (tp < 1) {
      throw new IllegalArgumentException("--tp must be >= 1, got " + tp);
    }
    DeviceSpec first = DeviceSpec.parse(device);
    ScalarType type = parseDtype(dtype);
    if (tp > 1 && Files.isDirectory(model)) {
      TensorParallel.check(ModelConfig.load(model), tp); // refuse a --tp that does not split before any rank starts
    }
    int cores = Runtime.getRuntime().availableProcessors();
    CpuThreads.configure(threads == 0 && tp > 1 ? Math.max(1, cores / tp) : threads); // per rank
    RankGroup.Body<T> rank = c -> {
      c.barrier(); // no rank fails and leaves while another is still joining the group
      TensorParallel group = TensorParallel.over(c);
      DeviceSpec own = first.cuda() ? DeviceSpec.parse("cuda:" + (first.index() + c.rank())) : first;
      try (CausalLm model = ModelLoader.load(this.model, own, type, group)) {
        return body.run(model, group);
      }
    };
    if (!first.cuda() || tp == 1) {
      return RankGroup.run(tp, TP_TIMEOUT, name, rank);
    }
    List<Integer> devices = new java.util.ArrayList<>();
    for (int r = 0; r < tp; r++) {
      devices.add(DeviceSpec.parse("cuda:" + (first.index() + r)).index()); // fails at once naming a missing GPU
    }
    return RankGroup.runNccl(devices, TP_TIMEOUT, name, rank);
  }

  /** float32 / fp32 / bfloat16 / bf16 to a libtorch type. */
  static ScalarType parseDtype(String s) {
    switch (s.toLowerCase(java.util.Locale.ROOT)) {
      case "float32": case "fp32": case "f32": return ScalarType.Float;
      case "bfloat16": case "bf16": return ScalarType.BFloat16;
      default: throw new IllegalArgumentException("--dtype '" + s + "': expected float32 or bfloat16");
    }
  }
}
