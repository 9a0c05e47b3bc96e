package org.rlhfnode.runtime.train;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/** Turns a collated {@link Batch} into tensors on a device, inside the caller's step scope. */
public final class BatchTensors {
  private BatchTensors() {}

  /** Token ids [B, L] int64. */
  public static Tensor ids(Batch b, DeviceSpec device) {
    return Tensors.longs(b.ids(), b.batchSize(), b.length()).to(device.torchDevice(), ScalarType.Long);
  }

  /** Attention mask [B, L] int64. */
  public static Tensor attention(Batch b, DeviceSpec device) {
    return Tensors.longs(b.attentionMask(), b.batchSize(), b.length()).to(device.torchDevice(), ScalarType.Long);
  }

  /** Loss mask [B, L − 1] float32 in the shifted frame. */
  public static Tensor lossMask(Batch b, DeviceSpec device) {
    return Tensors.longs(b.lossMask(), b.batchSize(), b.length() - 1).to(device.torchDevice(), ScalarType.Float);
  }

  /** Index of each row's last real token [B, 1] int64 (right padding), for sequence-level heads. */
  public static Tensor lastTokenIndex(Batch b, DeviceSpec device) {
    int[] lengths = b.lengths();
    long[] last = new long[lengths.length];
    for (int i = 0; i < lengths.length; i++) {
      last[i] = Math.max(0, lengths[i] - 1);
    }
    return Tensors.longs(last, last.length, 1).to(device.torchDevice(), ScalarType.Long);
  }
}
