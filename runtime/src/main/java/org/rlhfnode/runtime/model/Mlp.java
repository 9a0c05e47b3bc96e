package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** SwiGLU MLP: {@code down(silu(gate(x)) * up(x))}. */
public record Mlp(Linear gate, Linear up, Linear down) implements FeedForward {
  @Override
  public Tensor forward(Tensor x) {
    return down.forward(torch.silu(gate.forward(x)).mul(up.forward(x)));
  }
}
