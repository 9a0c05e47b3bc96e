package org.rlhfnode.runtime.plan;

/**
 * What one device holds for one role, in bytes, by kind: model weights, gradients, optimizer state
 * (AdamW moments and, in mixed precision, the fp32 master weights), activations of one micro-batch and the
 * rollout KV cache. {@link #total()} is their sum; memory offloaded to the host is not in it.
 */
public record DeviceBytes(long weights, long grads, long optimizer, long activations, long kvCache) {
  /** Nothing. */
  public static final DeviceBytes ZERO = new DeviceBytes(0, 0, 0, 0, 0);

  public DeviceBytes {
    if (weights < 0 || grads < 0 || optimizer < 0 || activations < 0 || kvCache < 0) {
      throw new IllegalArgumentException("byte counts must be ≥ 0");
    }
  }

  /** weights + grads + optimizer + activations + kv_cache. */
  public long total() {
    return Math.addExact(Math.addExact(Math.addExact(weights, grads), Math.addExact(optimizer, activations)), kvCache);
  }

  /** Weights, gradients and optimizer state: what ZeRO partitions (DeepSpeed's "model states"). */
  public long modelStates() {
    return weights + grads + optimizer;
  }

  /** The element-wise sum (two roles on one device). */
  public DeviceBytes plus(DeviceBytes o) {
    return new DeviceBytes(Math.addExact(weights, o.weights), Math.addExact(grads, o.grads),
        Math.addExact(optimizer, o.optimizer), Math.addExact(activations, o.activations),
        Math.addExact(kvCache, o.kvCache));
  }
}
