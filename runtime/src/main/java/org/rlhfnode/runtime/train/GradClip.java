package org.rlhfnode.runtime.train;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongArrayRefOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Global-norm gradient clipping, as {@code torch.nn.utils.clip_grad_norm_}: ‖g‖ = √(Σ_p ‖g_p‖²) over
 * every gradient, and when max_norm / (‖g‖ + 1e-6) &lt; 1 each gradient is scaled in place by that
 * factor. Norms are accumulated in float32 whatever the gradient dtype (PyTorch would take a bf16
 * gradient's norm in bf16). A non-finite norm leaves the gradients untouched: the caller sees it in
 * the returned value and skips the step.
 */
public final class GradClip {
  /** Added to the norm before dividing, as PyTorch does. */
  public static final double EPS = 1e-6;

  private GradClip() {}

  /** The gradients of {@code parameters} that exist (parameters without one are skipped). */
  public static List<Tensor> gradients(Collection<Tensor> parameters) {
    List<Tensor> grads = new ArrayList<>();
    for (Tensor p : parameters) {
      Tensor g = p.grad();
      if (g.defined()) {
        grads.add(g);
      }
    }
    return grads;
  }

  /** {@link #clip} over the existing gradients of {@code parameters}. */
  public static double clipParameters(Collection<Tensor> parameters, double maxNorm) {
    try (PointerScope scope = new PointerScope()) {
      return clip(gradients(parameters), maxNorm);
    }
  }

  /**
   * Clips {@code grads} in place to a global L2 norm of at most {@code maxNorm}.
   *
   * @param maxNorm the bound; ≤ 0 means measure only, never scale
   * @return the global norm before clipping (0 for no gradients)
   */
  public static double clip(List<Tensor> grads, double maxNorm) {
    double norm = globalNorm(grads);
    if (maxNorm <= 0 || !Double.isFinite(norm)) {
      return norm;
    }
    double coef = maxNorm / (norm + EPS);
    if (coef < 1.0) {
      try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
        Scalar factor = new Scalar(coef);
        for (Tensor g : grads) {
          g.mul_(factor);
        }
      }
    }
    return norm;
  }

  /** √(Σ_p ‖g_p‖²), computed on the gradients' device in float32. */
  public static double globalNorm(List<Tensor> grads) {
    if (grads.isEmpty()) {
      return 0.0;
    }
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      Scalar two = new Scalar(2.0);
      TensorVector norms = new TensorVector();
      for (Tensor g : grads) {
        norms.push_back(torch.linalg_vector_norm(g, two, new LongArrayRefOptional(), false,
            new ScalarTypeOptional(ScalarType.Float))); // []
      }
      return torch.linalg_vector_norm(torch.stack(norms)).to(ScalarType.Double).item_double();
    }
  }
}
