package org.rlhfnode.runtime.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.checkpoint.SavedTensors;

/**
 * AdamW with decoupled weight decay and bias correction, step for step the arithmetic of PyTorch's
 * {@code torch.optim.AdamW} (single-tensor path, the CPU default): for each parameter with a
 * gradient g, at step k,
 * θ ← θ(1 − lr·λ); m ← lerp(m, g, 1 − β1); v ← β2·v + (1 − β2)·g²;
 * θ ← θ − (lr / (1 − β1^k)) · m / (√v / √(1 − β2^k) + ε).
 * Moments are kept in the parameter's dtype and device, created at a parameter's first update;
 * parameters without a gradient are skipped and their step count does not advance.
 *
 * <p>Written on tensors rather than wrapping libtorch's {@code torch::optim::AdamW}: the JavaCPP
 * preset does not map {@code Optimizer::state()}, so the moments could only leave through
 * {@code torch::serialize} archives (a TorchScript pickle keyed by tensor addresses), not as named
 * tensors for a safetensors checkpoint. The update runs under {@link NoGradGuard} with in-place ops.
 *
 * <p>State entries, per parameter name n: {@code n.exp_avg}, {@code n.exp_avg_sq} (parameter dtype)
 * and {@code n.step} (int64 scalar).
 */
public final class AdamW implements Optimizer {
  /** Suffix of the first-moment entry (the checkpoint format's name for it). */
  public static final String EXP_AVG = SavedTensors.EXP_AVG;
  /** Suffix of the second-moment entry. */
  public static final String EXP_AVG_SQ = SavedTensors.EXP_AVG_SQ;
  /** Suffix of the per-parameter step count entry. */
  public static final String STEP = SavedTensors.STEP;
  /** Name fragments OpenRLHF exempts from weight decay ({@code get_optimizer_grouped_parameters}). */
  public static final List<String> OPENRLHF_NO_DECAY =
      List.of("bias", "layer_norm.weight", "layernorm.weight", "norm.weight", "ln_f.weight");

  /**
   * Hyper-parameters other than the learning rate.
   *
   * @param beta1 β1 in [0, 1)
   * @param beta2 β2 in [0, 1)
   * @param eps ε &gt; 0
   * @param weightDecay λ ≥ 0, decoupled (multiplies lr)
   */
  public record Options(double beta1, double beta2, double eps, double weightDecay) {
    /** algorithms.md §12: betas (0.9, 0.95), eps 1e-8, weight decay 0. */
    public static final Options DEFAULTS = new Options(0.9, 0.95, 1e-8, 0.0);

    public Options {
      if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
        throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
      }
      if (!(eps > 0) || Double.isInfinite(eps)) {
        throw new IllegalArgumentException("eps must be finite and > 0, got " + eps);
      }
      if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
        throw new IllegalArgumentException("weightDecay must be finite and ≥ 0, got " + weightDecay);
      }
    }
  }

  /** One parameter and its moments (null until its first update). */
  private static final class Slot {
    final String name;
    final Tensor param;
    final boolean decayed;
    Tensor expAvg; // like param: m
    Tensor expAvgSq; // like param: v
    long step;

    Slot(String name, Tensor param, boolean decayed) {
      this.name = name;
      this.param = param;
      this.decayed = decayed;
    }

    void setState(Tensor m, Tensor v, long k) {
      releaseState();
      expAvg = m == null ? null : m.retainReference();
      expAvgSq = v == null ? null : v.retainReference();
      step = k;
    }

    void releaseState() {
      if (expAvg != null) {
        expAvg.releaseReference();
        expAvgSq.releaseReference();
      }
      expAvg = null;
      expAvgSq = null;
      step = 0;
    }
  }

  private final Options options;
  private final List<Slot> slots;
  private final Map<String, Slot> byName;
  private boolean closed;

  /** AdamW with OpenRLHF's parameter grouping: no weight decay on biases and norm weights. */
  public AdamW(Map<String, Tensor> parameters, Options options) {
    this(parameters, options, AdamW::openRlhfDecays);
  }

  /**
   * @param parameters trainable tensors by name (leaves that require grad); retained until close
   * @param decayed which names get weight decay
   */
  public AdamW(Map<String, Tensor> parameters, Options options, Predicate<String> decayed) {
    this.options = options;
    List<Slot> built = new ArrayList<>();
    Map<String, Slot> index = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
      Slot s = new Slot(e.getKey(), e.getValue().retainReference(), decayed.test(e.getKey()));
      built.add(s);
      index.put(s.name, s);
    }
    this.slots = List.copyOf(built);
    this.byName = index;
  }

  /** True unless the name contains one of {@link #OPENRLHF_NO_DECAY}. */
  public static boolean openRlhfDecays(String name) {
    return OPENRLHF_NO_DECAY.stream().noneMatch(name::contains);
  }

  public Options options() {
    return options;
  }

  /** Number of updates applied to parameter {@code name} so far. */
  public long stepOf(String name) {
    Slot s = byName.get(name);
    if (s == null) {
      throw new IllegalArgumentException("no parameter named " + name);
    }
    return s.step;
  }

  @Override
  public void step(double lr) {
    checkOpen();
    if (!(lr >= 0) || Double.isInfinite(lr)) {
      throw new IllegalArgumentException("lr must be finite and ≥ 0, got " + lr);
    }
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      for (Slot s : slots) {
        Tensor grad = s.param.grad(); // like param
        if (grad.defined()) {
          update(s, grad, lr);
        }
      }
    }
  }

  private void update(Slot s, Tensor grad, double lr) {
    if (s.expAvg == null) {
      s.setState(torch.zeros_like(s.param), torch.zeros_like(s.param), 0);
    }
    s.step++;
    double beta1 = options.beta1();
    double beta2 = options.beta2();
    if (s.decayed && options.weightDecay() != 0) {
      s.param.mul_(new Scalar(1 - lr * options.weightDecay()));
    }
    s.expAvg.lerp_(grad, new Scalar(1 - beta1));
    s.expAvgSq.mul_(new Scalar(beta2)).addcmul_(grad, grad, new Scalar(1 - beta2));
    double biasCorrection1 = 1 - Math.pow(beta1, s.step);
    double biasCorrection2 = 1 - Math.pow(beta2, s.step);
    double stepSize = lr / biasCorrection1;
    Tensor denom = s.expAvgSq.sqrt().div_(new Scalar(Math.sqrt(biasCorrection2))).add_(new Scalar(options.eps()));
    s.param.addcdiv_(s.expAvg, denom, new Scalar(-stepSize));
  }

  /** Bytes of the moments held now (m and v of every parameter updated so far). */
  public long stateBytes() {
    long total = 0;
    for (Slot s : slots) {
      if (s.expAvg != null) {
        total += 2 * s.expAvg.numel() * s.expAvg.element_size();
      }
    }
    return total;
  }

  @Override
  public void zeroGrad() {
    checkOpen();
    try (PointerScope scope = new PointerScope()) {
      for (Slot s : slots) {
        s.param.mutable_grad().reset();
      }
    }
  }

  @Override
  public Map<String, Tensor> exportState() {
    checkOpen();
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Slot s : slots) {
      if (s.expAvg == null) {
        continue;
      }
      out.put(s.name + EXP_AVG, cpuCopy(s.expAvg));
      out.put(s.name + EXP_AVG_SQ, cpuCopy(s.expAvgSq));
      out.put(s.name + STEP, torch.scalar_tensor(new Scalar(s.step), new TensorOptions(ScalarType.Long))); // []
    }
    return out;
  }

  private static Tensor cpuCopy(Tensor t) {
    Tensor copy = t.to(new Device("cpu"), t.scalar_type().intern(), false, true, new MemoryFormatOptional());
    return copy.contiguous();
  }

  @Override
  public void restoreState(Map<String, Tensor> state) {
    checkOpen();
    Set<String> unknown = new TreeSet<>(state.keySet());
    List<Runnable> apply = new ArrayList<>();
    try (PointerScope scope = new PointerScope()) {
      for (Slot s : slots) {
        Tensor m = state.get(s.name + EXP_AVG);
        Tensor v = state.get(s.name + EXP_AVG_SQ);
        Tensor k = state.get(s.name + STEP);
        unknown.removeAll(List.of(s.name + EXP_AVG, s.name + EXP_AVG_SQ, s.name + STEP));
        if (m == null && v == null && k == null) {
          apply.add(s::releaseState);
          continue;
        }
        apply.add(restored(s, m, v, k));
      }
      if (!unknown.isEmpty()) {
        throw new IllegalArgumentException("optimizer state has " + unknown.size()
            + " entr(ies) for no parameter, first: " + unknown.iterator().next());
      }
      apply.forEach(Runnable::run);
    }
  }

  /** Checks one parameter's entries and returns the action that installs copies of them. */
  private static Runnable restored(Slot s, Tensor m, Tensor v, Tensor k) {
    if (m == null || v == null || k == null) {
      throw new IllegalArgumentException("optimizer state for " + s.name + " needs all of " + EXP_AVG + ", "
          + EXP_AVG_SQ + " and " + STEP);
    }
    checkLike(s, EXP_AVG, m);
    checkLike(s, EXP_AVG_SQ, v);
    if (k.numel() != 1 || k.is_floating_point() || k.item_long() < 1) {
      throw new IllegalArgumentException(s.name + STEP + " must be one integer ≥ 1");
    }
    long step = k.item_long();
    Tensor mCopy = torch.empty_like(s.param).copy_(m); // like param
    Tensor vCopy = torch.empty_like(s.param).copy_(v); // like param
    return () -> s.setState(mCopy, vCopy, step);
  }

  private static void checkLike(Slot s, String suffix, Tensor t) {
    long[] want = s.param.sizes().vec().get();
    long[] got = t.sizes().vec().get();
    if (!Arrays.equals(want, got)) {
      throw new IllegalArgumentException(s.name + suffix + " has shape " + Arrays.toString(got)
          + ", the parameter has " + Arrays.toString(want));
    }
    if (t.scalar_type().intern() != s.param.scalar_type().intern()) {
      throw new IllegalArgumentException(s.name + suffix + " is " + t.scalar_type().intern()
          + ", the parameter is " + s.param.scalar_type().intern());
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("optimizer is closed");
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Slot s : slots) {
      s.releaseState();
      s.param.releaseReference();
    }
  }
}
