package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Where a forward's tokens sit. {@code mask} [B, 1, T, S] says which keys each query of the padded layout
 * [B, T] may attend. A padded forward carries the tokens as [B, T]. A packed one (sequence packing,
 * OpenRLHF's {@code --packing_samples}) carries only the N real tokens, end to end in one row [1, N], through
 * the embedding, norms, projections and MLPs; attention alone moves its queries, keys and values into the
 * padded layout ({@link #pad}), so each sequence attends only itself, at its own positions, and back
 * ({@link #unpad}). Packed outputs equal padded ones up to float rounding.
 *
 * @param mask [B, 1, T, S] bool
 * @param toPadded [B·T] int64: the packed token in each padded slot, N (a zero row) on padding; null if padded
 * @param toPacked [N] int64: the padded slot of each packed token; null if padded
 */
public record TokenLayout(Tensor mask, Tensor toPadded, Tensor toPacked) {

  /** The padded layout. */
  public static TokenLayout padded(Tensor mask) {
    return new TokenLayout(mask, null, null);
  }

  /**
   * The packed layout of a padded batch.
   *
   * @param attentionMask [B, T], 1 on real tokens (any padding side, holes allowed)
   * @param mask [B, 1, T, T] the padded attention mask
   */
  public static TokenLayout packed(Tensor attentionMask, Tensor mask) {
    Tensor real = attentionMask.reshape(-1).ne(new Scalar(0L)); // [B·T]
    Tensor toPacked = torch.nonzero(real).squeeze(1); // [N]
    Tensor slot = torch.cumsum(real.to(ScalarType.Long), 0).sub(new Scalar(1L)); // [B·T]
    Tensor toPadded = torch.where(real, slot, torch.full_like(slot, new Scalar(toPacked.size(0))));
    return new TokenLayout(mask, toPadded, toPacked);
  }

  public boolean isPacked() {
    return toPacked != null;
  }

  /** N, the real tokens (packed), or B·T. */
  public long tokens() {
    return isPacked() ? toPacked.size(0) : mask.size(0) * mask.size(2);
  }

  /** Token ids [B, T] as this layout carries them: [1, N] packed, unchanged padded. */
  public Tensor carry(Tensor inputIds) {
    return isPacked() ? inputIds.reshape(-1).index_select(0, toPacked).unsqueeze(0) : inputIds;
  }

  /**
   * Activations as this layout carries them, in the padded layout.
   *
   * @param x [1, N, c] packed, or [B, T, c]
   * @return [B, T, c], zeros on padding when packed
   */
  public Tensor pad(Tensor x, long b, long t) {
    if (!isPacked()) {
      return x;
    }
    long c = x.size(2);
    Tensor rows = torch.cat(new TensorVector(x.squeeze(0), torch.zeros(new long[] {1, c}, x.options()))); // [N+1, c]
    return rows.index_select(0, toPadded).view(b, t, c);
  }

  /**
   * Padded activations as this layout carries them.
   *
   * @param x [B, T, c]
   * @return [1, N, c] packed, or x
   */
  public Tensor unpad(Tensor x) {
    return isPacked() ? x.reshape(-1, x.size(2)).index_select(0, toPacked).unsqueeze(0) : x;
  }

  /** Keeps every tensor of the layout alive past the caller's scope (for a layer recomputed in backward). */
  public TokenLayout retain() {
    return new TokenLayout(mask.retainReference(), toPadded == null ? null : toPadded.retainReference(),
        toPacked == null ? null : toPacked.retainReference());
  }

  /** Releases what {@link #retain} kept. */
  public void release() {
    for (Tensor t : new Tensor[] {mask, toPadded, toPacked}) {
      if (t != null) {
        t.releaseReference();
      }
    }
  }

  /**
   * Token slots of a model's packed forwards: {@code tokens} real tokens, which the padded batches held in
   * {@code paddedSlots} slots.
   */
  public record Tally(long tokens, long paddedSlots) {
    /** One line: the share of padding the packed forwards did not compute. */
    public String describe() {
      return String.format("packing_samples: %d tokens packed from %d padded slots: the embedding, norms, projections "
          + "and MLPs skipped %.1f%% padding (attention still runs per sequence in the padded layout)", tokens,
          paddedSlots, 100.0 * (paddedSlots - tokens) / Math.max(1, paddedSlots));
    }
  }
}
