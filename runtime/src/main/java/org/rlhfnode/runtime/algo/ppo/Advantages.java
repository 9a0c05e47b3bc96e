package org.rlhfnode.runtime.algo.ppo;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Advantages and returns of algorithms.md §7.4–§7.6 over the action block, all without gradient.
 *
 * <ul>
 *   <li>GAE (§7.4), run backwards with r, V zeroed outside the action mask and V_T := 0:
 *       δ_t = r_t + γ V_{t+1} − V_t, A_t = δ_t + γλ A_{t+1} (A_T := 0), R_t = A_t + V_t. Observation
 *       tokens inside the block carry r = V = 0 and stay in the recursion (OpenRLHF's behaviour).
 *   <li>Critic-free returns (§7.5): G_t = Σ_{k≥t} γ^{k−t} r_k and A_t = G_t; γ is 1 for group estimators.
 *   <li>Group scalars (§7.5) over groups of n consecutive samples; std with n − 1.
 *   <li>Whitening (§7.6) over all action tokens of the rollout: μ = ΣA·a/N, var = Σ(A−μ)²·a/N,
 *       A ← (A − μ)/√max(var, 1e-8), or A ← A − μ with {@code no_std_norm}. The sums are exposed so
 *       that a rollout spread over micro-batches and ranks can reduce them globally first.
 * </ul>
 * Per-token tensors are [B, T] over the action block with the action mask a [B, T]; results are
 * float32 (float64 for float64 inputs) and 0 outside the mask.
 */
public final class Advantages {
  /** ε added to the group std of {@code group_norm}. */
  public static final double GROUP_STD_EPS = 1e-9;
  /** Floor of the variance in whitening. */
  public static final double VARIANCE_FLOOR = 1e-8;

  private Advantages() {}

  /**
   * Advantages and returns of a rollout.
   *
   * @param advantages [B, T] A_t, 0 outside the action mask
   * @param returns [B, T] R_t = A_t + V_t (GAE, the critic target) or G_t (critic-free)
   */
  public record Result(Tensor advantages, Tensor returns) {}

  /**
   * The estimator's advantages and returns from per-token rewards (before whitening).
   *
   * @param rewards [B, T] r from {@link RewardShaping#perTokenRewards}
   * @param values [B, T] V_old; required for {@code gae}, ignored (may be null) otherwise
   * @param actionMask [B, T] a
   * @param gamma γ in [0, 1] (forced to 1 for group estimators)
   * @param lambda λ in [0, 1] (GAE only)
   */
  public static Result compute(AdvantageEstimator estimator, Tensor rewards, Tensor values, Tensor actionMask,
      double gamma, double lambda) {
    if (estimator.usesCritic()) {
      if (values == null) {
        throw new IllegalArgumentException("advantage_estimator gae needs critic values");
      }
      return gae(rewards, values, actionMask, gamma, lambda);
    }
    Tensor g = returns(rewards, actionMask, estimator.effectiveGamma(gamma)); // [B, T]
    return new Result(g, g);
  }

  /**
   * GAE (§7.4).
   *
   * @param rewards [B, T] r_t
   * @param values [B, T] V_old(t)
   * @param actionMask [B, T] a
   * @return advantages A and critic targets R = A + V, both 0 outside the mask
   */
  public static Result gae(Tensor rewards, Tensor values, Tensor actionMask, double gamma, double lambda) {
    checkUnit("gamma", gamma);
    checkUnit("lambda", lambda);
    Shapes.same("rewards vs actionMask", rewards, actionMask);
    Shapes.same("values vs actionMask", values, actionMask);
    Tensor r = Shapes.masked(RewardShaping.experience(rewards), actionMask); // [B, T]
    Tensor v = Shapes.masked(RewardShaping.experience(values), actionMask).to(r.scalar_type().intern()); // [B, T]
    long t = r.size(1);
    Tensor nextValues = torch.zeros_like(v); // [B, T] V_{t+1}, with V_T = 0
    if (t > 1) {
      nextValues.narrow(1, 0, t - 1).copy_(v.narrow(1, 1, t - 1));
    }
    Tensor adv = r.add(nextValues.mul(new Scalar(gamma))).sub(v); // [B, T] δ_t, then A_t in place
    backwardAccumulate(adv, gamma * lambda);
    adv = Shapes.masked(adv, actionMask);
    return new Result(adv, Shapes.masked(adv.add(v), actionMask));
  }

  /**
   * Critic-free returns G_t = Σ_{k≥t} γ^{k−t} r_k (§7.5), with r zeroed outside the action mask.
   *
   * @param rewards [B, T] r_t
   * @param actionMask [B, T] a
   * @return [B, T] G, 0 outside the mask
   */
  public static Tensor returns(Tensor rewards, Tensor actionMask, double gamma) {
    checkUnit("gamma", gamma);
    Shapes.same("rewards vs actionMask", rewards, actionMask);
    Tensor g = Shapes.masked(RewardShaping.experience(rewards), actionMask).clone(); // [B, T] r, then G
    backwardAccumulate(g, gamma);
    return Shapes.masked(g, actionMask);
  }

  /** x[:, t] += c · x[:, t + 1] for t = T − 2 … 0, in place: the backwards recursion of §7.4/§7.5. */
  private static void backwardAccumulate(Tensor x, double c) {
    Scalar coef = new Scalar(c);
    for (long t = x.size(1) - 2; t >= 0; t--) {
      try (PointerScope step = new PointerScope()) {
        x.select(1, t).add_(x.select(1, t + 1), coef);
      }
    }
  }

  /**
   * The scalar of §7.5 that replaces s_i for the estimator: s_i for {@code gae} and {@code reinforce},
   * otherwise a statistic of the group of n consecutive samples that s_i belongs to.
   *
   * @param scores [B] s_i, B a multiple of n for group estimators
   * @param samplesPerPrompt n; group estimators reject n &lt; 2
   * @return [B]
   */
  public static Tensor groupScalars(AdvantageEstimator estimator, Tensor scores, int samplesPerPrompt) {
    estimator.checkSamplesPerPrompt(samplesPerPrompt);
    Tensor s = RewardShaping.experience(scores); // [B]
    if (s.dim() != 1) {
      throw new IllegalArgumentException("scores must be [B], got " + java.util.Arrays.toString(Shapes.of(s)));
    }
    if (!estimator.groupBased()) {
      return s;
    }
    long b = s.size(0);
    int n = samplesPerPrompt;
    if (b % n != 0) {
      throw new IllegalArgumentException("scores hold " + b + " samples, not whole groups of n_samples_per_prompt = "
          + n + "; groups must not be split before the advantage step");
    }
    Tensor g = s.view(b / n, n); // [P, n]
    Tensor sum = g.sum(1).unsqueeze(1); // [P, 1]
    Tensor mean = sum.div(new Scalar((double) n)); // [P, 1]
    Tensor centred = g.sub(mean); // [P, n] s_i − mean_g s
    Tensor out; // [P, n]
    switch (estimator) {
      case REINFORCE_BASELINE:
      case DR_GRPO:
        out = centred;
        break;
      case GROUP_NORM:
        Tensor std = centred.square().sum(1).div(new Scalar(n - 1.0)).sqrt().unsqueeze(1); // [P, 1]
        out = centred.div(std.add(new Scalar(GROUP_STD_EPS)));
        break;
      case RLOO:
        out = g.sub(sum.sub(g).div(new Scalar(n - 1.0)));
        break;
      default:
        throw new AssertionError(estimator);
    }
    return out.reshape(b);
  }

  /**
   * First-pass sums for whitening over one micro-batch: N = Σa and ΣA·a. Add them up over every
   * micro-batch and rank of the rollout before taking {@link #mean()}.
   */
  public record Moments(double count, double sum) {
    /** μ = ΣA·a / N. */
    public double mean() {
      if (!(count > 0)) {
        throw new IllegalStateException("no action tokens to whiten over (N = " + count + ")");
      }
      return sum / count;
    }

    /** Element-wise sum of two partial results. */
    public Moments plus(Moments other) {
      return new Moments(count + other.count, sum + other.sum);
    }
  }

  /** N = Σa and ΣA·a of one micro-batch (float64). */
  public static Moments moments(Tensor advantages, Tensor actionMask) {
    Shapes.same("advantages vs actionMask", advantages, actionMask);
    Tensor a = Shapes.masked(advantages.detach().to(ScalarType.Double), actionMask); // [B, T]
    return new Moments(Shapes.bools(actionMask).sum().item_double(), a.sum().item_double());
  }

  /** Second pass: Σ(A − μ)²·a of one micro-batch (float64); divide the global sum by N for var. */
  public static double squaredDeviations(Tensor advantages, Tensor actionMask, double mean) {
    Shapes.same("advantages vs actionMask", advantages, actionMask);
    Tensor d = advantages.detach().to(ScalarType.Double).sub(new Scalar(mean)).square(); // [B, T]
    return Shapes.masked(d, actionMask).sum().item_double();
  }

  /**
   * Whitening with global statistics: (A − μ)/√max(var, 1e-8), or A − μ when {@code noStdNorm}.
   *
   * @param advantages [B, T]
   * @param actionMask [B, T]; the result is 0 outside it
   * @param mean global μ
   * @param variance global var = Σ(A − μ)²·a / N (ignored with {@code noStdNorm})
   */
  public static Tensor whiten(Tensor advantages, Tensor actionMask, double mean, double variance, boolean noStdNorm) {
    Shapes.same("advantages vs actionMask", advantages, actionMask);
    Shapes.finite("mean", mean);
    Tensor centred = RewardShaping.experience(advantages).sub(new Scalar(mean)); // [B, T]
    if (!noStdNorm) {
      if (!(variance >= 0)) {
        throw new IllegalArgumentException("variance must be ≥ 0, got " + variance);
      }
      centred = centred.div(new Scalar(Math.sqrt(Math.max(variance, VARIANCE_FLOOR))));
    }
    return Shapes.masked(centred, actionMask);
  }

  /** Whitening when this tensor is the whole rollout (one process, one micro-batch). */
  public static Tensor whiten(Tensor advantages, Tensor actionMask, boolean noStdNorm) {
    Moments m = moments(advantages, actionMask);
    double mean = m.mean();
    double variance = squaredDeviations(advantages, actionMask, mean) / m.count();
    return whiten(advantages, actionMask, mean, variance, noStdNorm);
  }

  private static void checkUnit(String name, double v) {
    if (!(v >= 0 && v <= 1)) {
      throw new IllegalArgumentException(name + " must be in [0, 1], got " + v);
    }
  }
}
