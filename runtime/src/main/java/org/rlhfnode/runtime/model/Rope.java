package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * Rotary position embeddings in HF's "rotate half" layout: dimension i is paired with i + d/2,
 * {@code invFreq[i] = theta^(-2i/d)} (optionally rescaled), angle = position × invFreq.
 */
public final class Rope {
  private final Tensor invFreq; // [d/2] float32, long-lived

  public Rope(ModelConfig config) {
    this.invFreq = Tensors.floats(inverseFrequencies(config), config.headDim() / 2);
    invFreq.retainReference();
  }

  /** Releases the frequency table. */
  void close() {
    invFreq.releaseReference();
  }

  /** HF's inverse frequencies (with {@code rope_scaling} applied) for one head. */
  public static float[] inverseFrequencies(ModelConfig config) {
    int half = config.headDim() / 2;
    double[] inv = new double[half];
    for (int i = 0; i < half; i++) {
      // HF computes the exponent in float32; matching it keeps logits within 1e-6 of the reference
      float exponent = (float) (2 * i) / (float) config.headDim();
      inv[i] = 1.0 / Math.pow(config.ropeTheta(), exponent);
    }
    if (config.ropeScaling() != null) {
      config.ropeScaling().apply(inv);
    }
    float[] out = new float[half];
    for (int i = 0; i < half; i++) {
      out[i] = (float) inv[i];
    }
    return out;
  }

  /**
   * Cosines and sines for the given positions, as {@code [cos, sin]}, each [B, 1, T, d] in
   * {@code dtype}, ready to broadcast over heads.
   *
   * @param positions [B, T] int64 position ids
   */
  public Tensor[] cosSin(Tensor positions, ScalarType dtype) {
    Tensor freqs = positions.to(ScalarType.Float).unsqueeze(-1)
        .mul(invFreq.to(positions.device(), ScalarType.Float)); // [B, T, d/2]
    Tensor emb = torch.cat(new TensorVector(freqs, freqs), -1).unsqueeze(1); // [B, 1, T, d]
    return new Tensor[] {emb.cos().to(dtype), emb.sin().to(dtype)};
  }

  /** Rotates {@code x} [B, H, T, d] by the angles in {@code cos}/{@code sin} [B, 1, T, d]. */
  public static Tensor apply(Tensor x, Tensor cos, Tensor sin) {
    long half = x.size(-1) / 2;
    Tensor x1 = x.narrow(-1, 0, half);
    Tensor x2 = x.narrow(-1, half, half);
    Tensor rotated = torch.cat(new TensorVector(x2.neg(), x1), -1);
    return x.mul(cos).add(rotated.mul(sin));
  }
}
