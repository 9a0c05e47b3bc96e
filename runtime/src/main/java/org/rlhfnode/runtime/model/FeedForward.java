package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Tensor;

/** The position-wise MLP of a decoder layer: dense SwiGLU or a sparse mixture of experts. */
public sealed interface FeedForward permits Mlp, MoeMlp {
  /** Maps [.., d] to [.., d]. */
  Tensor forward(Tensor x);
}
