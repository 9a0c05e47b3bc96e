package org.rlhfnode.node.cli;

import java.nio.file.Path;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.tensor.CpuThreads;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import picocli.CommandLine.Option;

/** Options shared by every command that loads a model: directory, device, dtype, threads. */
public final class ModelOptions {
  @Option(names = "--model", required = true, paramLabel = "DIR",
      description = "HuggingFace model directory (config.json + *.safetensors).")
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

  /** float32 / fp32 / bfloat16 / bf16 to a libtorch type. */
  static ScalarType parseDtype(String s) {
    switch (s.toLowerCase(java.util.Locale.ROOT)) {
      case "float32": case "fp32": case "f32": return ScalarType.Float;
      case "bfloat16": case "bf16": return ScalarType.BFloat16;
      default: throw new IllegalArgumentException("--dtype '" + s + "': expected float32 or bfloat16");
    }
  }
}
