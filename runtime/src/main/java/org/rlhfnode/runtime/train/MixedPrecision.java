package org.rlhfnode.runtime.train;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * fp32 master weights for bf16 compute: the model runs (and back-propagates) in bf16, each
 * optimizer step moves the bf16 gradients onto fp32 masters, AdamW and clipping work on the masters,
 * and the updated masters are rounded back into the bf16 weights. Small updates that bf16 would
 * round away accumulate in the masters instead.
 */
public final class MixedPrecision implements AutoCloseable {
  private final Map<String, Tensor> compute; // bf16 model weights that receive gradients
  private final Map<String, Tensor> masters; // fp32 copies the optimizer updates

  /** Creates fp32 masters for the given low-precision trainable tensors (which keep requires_grad). */
  public MixedPrecision(Map<String, Tensor> computeParams) {
    this.compute = Collections.unmodifiableMap(new LinkedHashMap<>(computeParams));
    Map<String, Tensor> m = new LinkedHashMap<>();
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : compute.entrySet()) {
        Tensor master = e.getValue().detach().to(ScalarType.Float).clone();
        master.requires_grad_(true);
        master.retainReference();
        m.put(e.getKey(), master);
      }
    }
    this.masters = Collections.unmodifiableMap(m);
  }

  /** The fp32 tensors to give the optimizer, clipping and checkpoints. */
  public Map<String, Tensor> masters() {
    return masters;
  }

  /** Copies each bf16 gradient (as fp32) onto its master and clears the bf16 gradient. */
  public void gradientsToMasters() {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : compute.entrySet()) {
        Tensor grad = e.getValue().grad();
        Tensor master = masters.get(e.getKey());
        if (grad.defined()) {
          master.mutable_grad().put(grad.to(ScalarType.Float));
        }
        e.getValue().mutable_grad().reset();
      }
    }
  }

  /** Rounds the updated masters back into the bf16 weights. */
  public void mastersToCompute() {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : compute.entrySet()) {
        e.getValue().detach().copy_(masters.get(e.getKey()));
      }
    }
  }

  @Override
  public void close() {
    masters.values().forEach(Tensor::releaseReference);
  }
}
