package org.rlhfnode.runtime.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * Preallocated keys and values of every layer for a batch of sequences, [B, KV, capacity, hd], plus
 * which slots hold real tokens and each row's next position id. Appending writes in place, so a
 * decode step costs no reallocation; {@link #keepRows} drops finished sequences. The cache owns its
 * tensors (independent of any {@code PointerScope}) until {@link #close}.
 */
public final class KvCache implements AutoCloseable {
  private final Tensor[] keys;
  private final Tensor[] values;
  private Tensor keyValid; // [B, capacity] bool: slot holds a real token
  private Tensor nextPositions; // [B] int64: position id of each row's next real token
  private final int capacity;
  private int length;

  private KvCache(Tensor[] keys, Tensor[] values, Tensor keyValid, Tensor nextPositions, int capacity) {
    this.keys = keys;
    this.values = values;
    this.keyValid = own(keyValid);
    this.nextPositions = own(nextPositions);
    this.capacity = capacity;
    for (int i = 0; i < keys.length; i++) {
      own(keys[i]);
      own(values[i]);
    }
  }

  /** An empty cache for {@code batch} rows of up to {@code capacity} tokens each. */
  public static KvCache allocate(ModelConfig c, int batch, int capacity, ScalarType dtype, DeviceSpec device) {
    return allocate(c, c.numKvHeads(), batch, capacity, dtype, device);
  }

  /** An empty cache of {@code kvHeads} heads per layer (a tensor-parallel rank's own KV heads). */
  static KvCache allocate(ModelConfig c, int kvHeads, int batch, int capacity, ScalarType dtype, DeviceSpec device) {
    TensorOptions opts = Tensors.options(dtype, device);
    Tensor[] k = new Tensor[c.numLayers()];
    Tensor[] v = new Tensor[c.numLayers()];
    long[] shape = {batch, kvHeads, capacity, c.headDim()};
    for (int i = 0; i < k.length; i++) {
      // uninitialised on purpose: attention only reads slots [0, length), which are always written first
      k[i] = torch.empty(shape, opts, new org.bytedeco.pytorch.MemoryFormatOptional());
      v[i] = torch.empty(shape, opts, new org.bytedeco.pytorch.MemoryFormatOptional());
    }
    Tensor valid = torch.zeros(new long[] {batch, capacity}, Tensors.options(ScalarType.Bool, device));
    Tensor pos = torch.zeros(new long[] {batch}, Tensors.options(ScalarType.Long, device));
    return new KvCache(k, v, valid, pos, capacity);
  }

  private static Tensor own(Tensor t) {
    t.retainReference();
    return t;
  }

  /** Slots filled so far (including left padding). */
  public int length() {
    return length;
  }

  /**
   * Registers T new tokens: marks their slots valid where {@code newMask} is 1 and returns their
   * position ids [B, T] (HF's {@code cumsum(mask) - 1}, continued from the cached tokens; 1 at
   * padding). Call once per forward, before the layers append.
   */
  Tensor admit(Tensor newMask) {
    long t = newMask.size(1);
    if (length + t > capacity) {
      throw new IllegalStateException("KV cache full: " + length + " + " + t + " > capacity " + capacity);
    }
    keyValid.narrow(1, length, t).copy_(newMask.to(ScalarType.Bool));
    Tensor positions = torch.cumsum(newMask, 1).sub(new Scalar(1L)).add(nextPositions.unsqueeze(1));
    nextPositions.add_(newMask.sum(new long[] {1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
    return positions.masked_fill(newMask.eq(new Scalar(0L)), new Scalar(1L));
  }

  /** Valid-slot mask [B, S] for the slots filled once the current forward completes. */
  Tensor keyValid(long t) {
    return keyValid.narrow(1, 0, length + t);
  }

  /** Advances the fill length after every layer has appended {@code t} tokens. */
  void commit(long t) {
    length += (int) t;
  }

  /** The view of one layer, used by {@link Attention}. */
  Layer layer(int i) {
    return new Layer(i);
  }

  /** Keeps only the given rows (e.g. sequences still generating), in that order. */
  public void keepRows(Tensor rowIndices) {
    for (int i = 0; i < keys.length; i++) {
      keys[i] = replace(keys[i], keys[i].index_select(0, rowIndices));
      values[i] = replace(values[i], values[i].index_select(0, rowIndices));
    }
    keyValid = replace(keyValid, keyValid.index_select(0, rowIndices));
    nextPositions = replace(nextPositions, nextPositions.index_select(0, rowIndices));
  }

  private static Tensor replace(Tensor old, Tensor fresh) {
    fresh.retainReference();
    old.releaseReference();
    return fresh;
  }

  @Override
  public void close() {
    for (int i = 0; i < keys.length; i++) {
      keys[i].releaseReference();
      values[i].releaseReference();
    }
    keyValid.releaseReference();
    nextPositions.releaseReference();
  }

  /** One layer's slice of the cache. */
  public final class Layer {
    private final int index;

    private Layer(int index) {
      this.index = index;
    }

    /** Writes new keys/values [B, KV, T, hd] after the filled slots; returns all filled [B, KV, S, hd]. */
    Tensor[] append(Tensor k, Tensor v) {
      long t = k.size(2);
      keys[index].narrow(2, length, t).copy_(k);
      values[index].narrow(2, length, t).copy_(v);
      return new Tensor[] {keys[index].narrow(2, 0, length + t), values[index].narrow(2, 0, length + t)};
    }
  }
}
