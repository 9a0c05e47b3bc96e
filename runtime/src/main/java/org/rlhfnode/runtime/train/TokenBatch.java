package org.rlhfnode.runtime.train;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * A right-padded batch of token sequences as flat Java arrays: ids and attention mask [rows × cols]
 * and the loss mask in the shifted frame [rows × (cols − 1)] (entry t scores token t + 1,
 * algorithms.md §1.2). Turned into tensors inside the step that uses it.
 */
public record TokenBatch(long[] ids, long[] attentionMask, float[] lossMask, int rows, int cols) {
  public TokenBatch {
    if (ids.length != (long) rows * cols || attentionMask.length != ids.length
        || lossMask.length != (long) rows * (cols - 1)) {
      throw new IllegalArgumentException("token batch arrays do not match " + rows + "×" + cols);
    }
  }

  /** Token ids [B, L] int64 on {@code device}. */
  public Tensor idsTensor(DeviceSpec device) {
    return Tensors.longs(ids, rows, cols).to(device.torchDevice(), ScalarType.Long);
  }

  /** Attention mask [B, L] int64 on {@code device}. */
  public Tensor attentionTensor(DeviceSpec device) {
    return Tensors.longs(attentionMask, rows, cols).to(device.torchDevice(), ScalarType.Long);
  }

  /** Loss mask [B, L − 1] float32 on {@code device}. */
  public Tensor lossMaskTensor(DeviceSpec device) {
    return Tensors.floats(lossMask, rows, cols - 1).to(device.torchDevice(), ScalarType.Float);
  }

  /** Number of target tokens (ones in the loss mask). */
  public long lossTokens() {
    long n = 0;
    for (float m : lossMask) {
      n += m > 0 ? 1 : 0;
    }
    return n;
  }

  /** Index of each row's last real token (right padding), for sequence-level heads. */
  public long[] lastTokenIndex() {
    long[] out = new long[rows];
    for (int r = 0; r < rows; r++) {
      long n = 0;
      for (int c = 0; c < cols; c++) {
        n += attentionMask[r * cols + c];
      }
      out[r] = Math.max(0, n - 1);
    }
    return out;
  }
}
