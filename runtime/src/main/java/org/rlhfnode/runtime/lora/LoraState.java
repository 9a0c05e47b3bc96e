package org.rlhfnode.runtime.lora;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * What every adapter of one {@link LoraModel} shares: whether adapters are on, whether the model
 * is training (dropout applies only then), and the seeded generator the dropout masks come from.
 */
final class LoraState {
  private final double dropout;
  private final Generator generator; // CPU, seeded; guarded by this
  private volatile boolean training;
  private volatile boolean enabled = true;

  LoraState(double dropout, long seed) {
    this.dropout = dropout;
    this.generator = torch.createCPUGenerator(seed);
    generator.retainReference(); // lives as long as the adapters, beyond the scope that attached them
  }

  /** The dropout generator, whose state a training checkpoint saves and restores. */
  Generator generator() {
    return generator;
  }

  boolean training() {
    return training;
  }

  void setTraining(boolean on) {
    training = on;
  }

  boolean enabled() {
    return enabled;
  }

  void setEnabled(boolean on) {
    enabled = on;
  }

  /**
   * Inverted dropout as {@code nn.Dropout} in training: each element kept with probability
   * 1 − p and scaled by 1 / (1 − p); the identity outside training or when p = 0.
   *
   * <p>Masks are drawn on the CPU from this model's generator, so a seed gives the same masks on
   * every device and thread schedule; on a GPU that costs one host-to-device copy of a bool mask
   * per adapted projection (dropout is 0 by default, which skips all of it).
   *
   * @param x [..., in] float32
   */
  Tensor dropout(Tensor x) {
    if (!training || dropout == 0) {
      return x;
    }
    Tensor keep; // [..., in] bool, true with probability 1 - p
    synchronized (this) {
      keep = torch.empty(Tensors.shape(x), Tensors.options(ScalarType.Float, DeviceSpec.CPU), new MemoryFormatOptional())
          .bernoulli_(1 - dropout, new GeneratorOptional(generator)).to(ScalarType.Bool);
    }
    return x.mul(keep.to(x.device(), ScalarType.Bool)).mul(new Scalar(1 / (1 - dropout)));
  }

  void close() {
    generator.releaseReference();
  }
}
