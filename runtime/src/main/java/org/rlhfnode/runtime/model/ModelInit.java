package org.rlhfnode.runtime.model;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * Random initialisation as HF's {@code _init_weights} does it: matrices and embeddings from
 * N(0, std²) (HF's {@code initializer_range}, 0.02), RMSNorm weights 1, biases 0. Deterministic
 * for a seed, drawn on the CPU and then moved, so a seed gives the same weights on every device.
 */
public final class ModelInit {
  public static final double DEFAULT_STD = 0.02;

  private ModelInit() {}

  /** A randomly initialised model; {@code scoreHead} adds a {@code score.weight} head. */
  public static CausalLm random(ModelConfig config, long seed, double std, ScalarType dtype,
      DeviceSpec device, boolean scoreHead) {
    try (PointerScope scope = new PointerScope()) {
      Generator gen = torch.createCPUGenerator(seed);
      Map<String, long[]> layout = new LinkedHashMap<>(ParameterLayout.of(config));
      if (scoreHead) {
        layout.put(ParameterLayout.SCORE, new long[] {1, config.hiddenSize()});
      }
      Map<String, Tensor> params = new LinkedHashMap<>();
      for (Map.Entry<String, long[]> e : layout.entrySet()) {
        params.put(e.getKey(), draw(e.getKey(), e.getValue(), gen, std).to(device.torchDevice(), dtype));
      }
      return CausalLm.create(config, params, device);
    }
  }

  private static Tensor draw(String name, long[] shape, Generator gen, double std) {
    org.bytedeco.pytorch.TensorOptions f32 = Tensors.options(ScalarType.Float, DeviceSpec.CPU);
    if (ParameterLayout.isMatrix(shape)) {
      return torch.empty(shape, f32, new org.bytedeco.pytorch.MemoryFormatOptional())
          .normal_(0.0, std, new GeneratorOptional(gen));
    }
    return name.endsWith(".bias") ? torch.zeros(shape, f32) : torch.ones(shape, f32);
  }
}
