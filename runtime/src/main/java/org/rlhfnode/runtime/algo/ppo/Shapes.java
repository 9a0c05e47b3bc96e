package org.rlhfnode.runtime.algo.ppo;

import java.util.Arrays;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Argument checks and small tensor helpers shared by the PPO formulas; messages name the input. */
final class Shapes {
  private Shapes() {}

  static long[] of(Tensor t) {
    return t.sizes().vec().get();
  }

  /** Throws unless {@code t} is 2-d ([B, T]). */
  static void matrix(String name, Tensor t) {
    if (t.dim() != 2) {
      throw new IllegalArgumentException(name + " must be [B, T], got " + Arrays.toString(of(t)));
    }
  }

  /** Throws unless {@code t} is [B] for the given B. */
  static void vector(String name, Tensor t, long b) {
    if (t.dim() != 1 || t.size(0) != b) {
      throw new IllegalArgumentException(name + " must be [" + b + "], got " + Arrays.toString(of(t)));
    }
  }

  /** Throws unless {@code a} is [B, T] and {@code b} has the very same shape. */
  static void same(String names, Tensor a, Tensor b) {
    matrix(names, a);
    if (!Arrays.equals(of(a), of(b))) {
      throw new IllegalArgumentException(names + ": shapes " + Arrays.toString(of(a)) + " and "
          + Arrays.toString(of(b)) + " differ");
    }
  }

  /** Float32 or float64 stay as they are; lower precisions (bf16, fp16) are promoted to float32. */
  static Tensor fp32(Tensor t) {
    ScalarType type = t.scalar_type().intern();
    return type == ScalarType.Float || type == ScalarType.Double ? t : t.to(ScalarType.Float);
  }

  /** The mask as a bool tensor. */
  static Tensor bools(Tensor mask) {
    return mask.ne(new Scalar(0L));
  }

  /** Element-wise clamp to [lo, hi]; keeps the graph (zero gradient outside). */
  static Tensor clamp(Tensor t, double lo, double hi) {
    return t.clamp(new ScalarOptional(new Scalar(lo)), new ScalarOptional(new Scalar(hi)));
  }

  /** Per-row masked mean Σ_t x·m / max(Σ_t m, 1): [B, T] → [B]; 0 for a row with an empty mask. */
  static Tensor rowMean(Tensor x, Tensor mask) {
    Tensor keep = bools(mask); // [B, T]
    Tensor counts = keep.sum(1).to(x.scalar_type().intern()).clamp_min(new Scalar(1.0)); // [B]
    return masked(x, keep).sum(1).div(counts);
  }

  /** x where the mask is set, 0 elsewhere (so that NaN or inf in unused slots cannot leak into sums). */
  static Tensor masked(Tensor x, Tensor mask) {
    return torch.where(bools(mask), x, new Scalar(0.0));
  }

  /** Masked mean over all entries as a double; 0 for an empty mask. */
  static double maskedMean(Tensor x, Tensor mask) {
    double n = bools(mask).sum().item_double();
    return n == 0 ? 0.0 : masked(x.detach().to(ScalarType.Double), mask).sum().item_double() / n;
  }

  static void finite(String name, double v) {
    if (!Double.isFinite(v)) {
      throw new IllegalArgumentException(name + " must be finite, got " + v);
    }
  }
}
