package org.rlhfnode.runtime.algo;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reduces a per-token loss ℓ[i, t] under a mask m[i, t] to a scalar, as algorithms.md §2 defines:
 * token mode Σ ℓ·m / N_step, sequence mode (1/B_step) Σ_i (Σ_t ℓ·m / Σ_t m) over sequences with a
 * non-empty mask, and constant mode Σ ℓ·m / (B_step · T_max).
 *
 * <p>The explicit denominators are those of the whole optimizer step (all accumulated micro-batches,
 * all ranks); each micro-batch then contributes its share and the summed gradients equal those of one
 * big batch. The overloads without them use the micro-batch's own counts (a step of one micro-batch).
 * Masks may be bool, integer or floating; they are used as 0/1 weights.
 */
public final class LossReduction {
  private LossReduction() {}

  /** Token mode over this micro-batch alone: N = Σ m here; an all-zero mask gives 0. */
  public static Tensor token(Tensor loss, Tensor mask) {
    return token(loss, mask, Math.max(1.0, tokens(mask)));
  }

  /**
   * Token mode: Σ ℓ·m / N_step.
   *
   * @param loss [B, T] per-token loss
   * @param mask [B, T] 0/1
   * @param tokensInStep N_step &gt; 0, the masked-token count of the whole optimizer step
   * @return [] scalar
   */
  public static Tensor token(Tensor loss, Tensor mask, double tokensInStep) {
    requirePositive("tokensInStep", tokensInStep);
    return maskedSum(loss, mask).div(new Scalar(tokensInStep));
  }

  /** Sequence mode over this micro-batch alone: B_step = number of sequences with a non-empty mask. */
  public static Tensor sequence(Tensor loss, Tensor mask) {
    return sequence(loss, mask, Math.max(1L, nonEmptySequences(mask)));
  }

  /**
   * Sequence mode: (1/B_step) Σ_i (Σ_t ℓ·m / Σ_t m); a sequence whose mask is empty adds nothing.
   *
   * @param loss [B, T] per-token loss
   * @param mask [B, T] 0/1
   * @param sequencesInStep B_step &gt; 0, the non-empty sequences of the whole optimizer step
   * @return [] scalar
   */
  public static Tensor sequence(Tensor loss, Tensor mask, double sequencesInStep) {
    requirePositive("sequencesInStep", sequencesInStep);
    Tensor m = weights(mask, loss); // [B, T]
    Tensor perSequence = loss.mul(m).sum(1); // [B] Σ_t ℓ·m
    Tensor lengths = m.sum(1).clamp_min(new Scalar(1.0)); // [B], 1 where empty (the sum is 0 there)
    return perSequence.div(lengths).sum().div(new Scalar(sequencesInStep));
  }

  /** Constant mode with B_step = B and T_max = T of this micro-batch. */
  public static Tensor constant(Tensor loss, Tensor mask) {
    return constant(loss, mask, loss.size(0), loss.size(1));
  }

  /**
   * Constant mode (Dr.GRPO): Σ ℓ·m / (B_step · T_max).
   *
   * @param loss [B, T] per-token loss
   * @param mask [B, T] 0/1
   * @param sequencesInStep B_step &gt; 0, all sequences of the optimizer step
   * @param maxTokens T_max &gt; 0, the generation budget (not the longest response seen)
   * @return [] scalar
   */
  public static Tensor constant(Tensor loss, Tensor mask, double sequencesInStep, long maxTokens) {
    requirePositive("sequencesInStep", sequencesInStep);
    requirePositive("maxTokens", maxTokens);
    return maskedSum(loss, mask).div(new Scalar(sequencesInStep * maxTokens));
  }

  /** Σ ℓ·m as a scalar tensor (keeps the graph of {@code loss}). */
  public static Tensor maskedSum(Tensor loss, Tensor mask) {
    return loss.mul(weights(mask, loss)).sum();
  }

  /** Σ m: the masked-token count N of a micro-batch. */
  public static double tokens(Tensor mask) {
    return mask.to(ScalarType.Double).sum().item_double();
  }

  /** Number of rows of {@code mask} ([B, T]) with at least one set entry. */
  public static long nonEmptySequences(Tensor mask) {
    return mask.ne(new Scalar(0L)).any(1).sum().item_long();
  }

  /** The mask as 0/1 weights in the dtype of {@code like}, after checking the shapes agree. */
  static Tensor weights(Tensor mask, Tensor like) {
    Checks.sameShape("mask vs values", mask, like);
    return mask.to(like.scalar_type().intern());
  }

  private static void requirePositive(String name, double value) {
    if (!(value > 0)) {
      throw new IllegalArgumentException(name + " must be > 0, got " + value);
    }
  }
}
