package org.rlhfnode.node.role;

import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.lora.LoraMerge;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.transport.RankGang;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * How a rollout worker builds each weight version it serves: from a model directory or a payload of every
 * weight ({@link ServedPolicy}), or, for a LoRA policy ({@code --lora_rank}), from the adapters a payload
 * brings, merged into the base model (the policy's {@code --pretrain}, loaded once): {@link LoraMerge} makes
 * the adapted projections anew and shares every other weight with the base, so a version costs the adapted
 * projections only. Used on the worker's executor thread alone.
 */
final class PolicyVersions implements AutoCloseable {
  private final RankGang gang; // tensor-parallel ranks, or null
  private final RolloutWorker.Settings settings;
  private CausalLm base; // LoRA: the base weights every version shares

  PolicyVersions(RankGang gang, RolloutWorker.Settings settings) {
    this.gang = gang;
    this.settings = settings;
  }

  /** The model in {@code dir}; with LoRA it becomes the base of the versions that follow. */
  ServedPolicy load(Path dir) {
    if (settings.lora() == null) {
      return ServedPolicy.load(gang, dir, settings.device(), settings.dtype());
    }
    CausalLm loaded = ModelLoader.load(dir, settings.device(), settings.dtype());
    if (base != null) {
      base.close(); // versions built on it keep the weights they share (each model holds its own references)
    }
    base = loaded;
    return ServedPolicy.whole(CausalLm.create(base.config(), base.parameters(), base.device()));
  }

  /**
   * The version a payload brings: every weight, or with LoRA the adapters ({@code base_model.model.<module>
   * .lora_A.weight} and {@code lora_B}) merged into the base.
   *
   * @param config the config of the model loaded before (a payload carries tensors only), or null if none was
   */
  ServedPolicy fromPayload(WeightPayload payload, ModelConfig config) {
    if (settings.lora() == null) {
      if (config == null) {
        throw new IllegalStateException("no model was loaded to take the config from");
      }
      return ServedPolicy.fromPayload(gang, payload, config, settings.device(), settings.dtype());
    }
    if (base == null) {
      throw new IllegalStateException("adapter payload " + payload + " came before the base model was loaded");
    }
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      Map<String, Tensor> adapters = payload.tensors(settings.device(), ScalarType.Float);
      return ServedPolicy.whole(CausalLm.create(base.config(),
          LoraMerge.merged(base.parameters(), adapters, settings.lora().scaling()), base.device()));
    }
  }

  /** Frees the base weights (after every version built on it was closed, or as they close). */
  @Override
  public void close() {
    if (base != null) {
      base.close();
      base = null;
    }
  }
}
