package org.rlhfnode.runtime.lora;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.Linear;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * LoRA adapters attached to the projections of a {@link CausalLm}, PEFT's {@code LoraModel} for
 * this runtime. The model keeps its API: {@code forward}, {@code hidden}, generation and KV cache
 * all pass through the adapters. Attaching freezes every base weight ({@code requires_grad}
 * false); {@link #trainableParameters()} is what the optimizer updates.
 *
 * <p>Lifecycle: {@link #attach} (or {@code LoraCheckpoint.load}), train with
 * {@link #setTraining} on, then either save the adapter ({@code LoraCheckpoint.save}) or
 * {@link #mergeAndUnload} and export the model with {@code ModelSaver} as a plain HF checkpoint.
 * {@link #close} detaches without merging. With {@link #setEnabled}(false) the same weights give
 * the base model's outputs, e.g. for DPO's reference log-probs.
 */
public final class LoraModel implements AutoCloseable {
  /** Decorrelates the dropout stream from the initialisation stream drawn with the same seed. */
  private static final long DROPOUT_SEED_SALT = 0x9E3779B97F4A7C15L;

  private final CausalLm model;
  private final LoraConfig config;
  private final Map<String, LoraLayer> layers; // by module name, in model order
  private final LoraState state;
  private boolean attached = true;

  private LoraModel(CausalLm model, LoraConfig config, Map<String, LoraLayer> layers, LoraState state) {
    this.model = model;
    this.config = config;
    this.layers = Collections.unmodifiableMap(layers);
    this.state = state;
  }

  /**
   * Attaches fresh adapters as PEFT initialises them: A from kaiming-uniform with a = √5, i.e.
   * U(−1/√in, 1/√in), drawn in float32 on the CPU from a generator seeded with {@code seed} in
   * module order (so a seed gives the same A on every device); B zero, so the model's outputs are
   * unchanged until B is trained. Call it outside inference mode, so the adapters can record gradients.
   *
   * @throws IllegalArgumentException if the targets name no projection of the model (see
   *     {@link LoraTargets#resolve})
   * @throws IllegalStateException if a targeted projection already has an adapter
   */
  public static LoraModel attach(CausalLm model, LoraConfig config, long seed) {
    List<String> modules = LoraTargets.resolve(model, config);
    Map<String, Linear> linears = model.linears();
    for (String m : modules) {
      if (linears.get(m).adapter() != null) {
        throw new IllegalStateException(m + " already has an adapter; close the other LoraModel first");
      }
    }
    Map<String, LoraLayer> layers = new LinkedHashMap<>();
    LoraState state;
    try (PointerScope scope = new PointerScope()) {
      state = new LoraState(config.dropout(), seed ^ DROPOUT_SEED_SALT);
      Generator init = torch.createCPUGenerator(seed);
      for (String m : modules) {
        layers.put(m, newLayer(m, linears.get(m), config, model.device(), init, state));
      }
    }
    try (PointerScope scope = new PointerScope()) {
      model.parameters().values().forEach(w -> w.requires_grad_(false));
    }
    layers.forEach((m, layer) -> linears.get(m).attach(layer));
    return new LoraModel(model, config, layers, state);
  }

  private static LoraLayer newLayer(String module, Linear base, LoraConfig config, DeviceSpec device,
      Generator init, LoraState state) {
    long in = base.inFeatures();
    double bound = 1 / Math.sqrt(in); // kaiming_uniform_(a=√5): gain √(1/3), bound gain·√(3/in)
    Tensor a = torch.empty(new long[] {config.rank(), in}, Tensors.options(ScalarType.Float, DeviceSpec.CPU),
        new MemoryFormatOptional()).uniform_(-bound, bound, new GeneratorOptional(init))
        .to(device.torchDevice(), ScalarType.Float); // [r, in]
    Tensor b = torch.zeros(new long[] {base.outFeatures(), config.rank()},
        Tensors.options(ScalarType.Float, device)); // [out, r]
    // requires_grad_ returns a second handle without ownership; retain the owning ones.
    a.requires_grad_(true);
    b.requires_grad_(true);
    a.retainReference();
    b.retainReference();
    return new LoraLayer(module, base, a, b, config.scaling(), state);
  }

  /** The adapters by HF module name, in model order. */
  public Map<String, LoraLayer> layers() {
    return layers;
  }

  /**
   * A and B of every adapter by their PEFT names ({@link PeftNames}), in model order: the
   * {@code Map<String, Tensor>} the trainer's AdamW and gradient clipping take. Base weights are
   * not in it; they are frozen.
   */
  public Map<String, Tensor> trainableParameters() {
    checkAttached();
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (LoraLayer l : layers.values()) {
      out.put(PeftNames.loraA(l.module()), l.loraA());
      out.put(PeftNames.loraB(l.module()), l.loraB());
    }
    return out;
  }

  /** Training mode: dropout on the adapter inputs applies only while it is on (off after attach). */
  public void setTraining(boolean on) {
    state.setTraining(on);
  }

  /** The generator dropout masks come from (its state belongs in a training checkpoint). */
  public Generator dropoutGenerator() {
    return state.generator();
  }

  public boolean training() {
    return state.training();
  }

  /** Switches every adapter off (the base model's outputs) or back on, without detaching them. */
  public void setEnabled(boolean on) {
    state.setEnabled(on);
  }

  public boolean enabled() {
    return state.enabled();
  }

  /**
   * Folds each adapter into its base weight (W ← W + s·B A in float32, cast back to W's dtype),
   * then detaches and frees the adapters. The model then computes what it computed with the
   * adapters enabled and outside training, and {@code ModelSaver} writes plain HF weights.
   */
  public void mergeAndUnload() {
    checkAttached();
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      for (LoraLayer l : layers.values()) {
        l.mergeIntoBase();
      }
    }
    close();
  }

  /** Detaches and frees the adapters without merging them: the model is the base model again. */
  @Override
  public void close() {
    if (!attached) {
      return;
    }
    attached = false;
    for (LoraLayer l : layers.values()) {
      l.base().detach();
      l.release();
    }
    state.close();
  }

  public CausalLm model() {
    return model;
  }

  /** The configuration the adapters were attached with. */
  public LoraConfig config() {
    return config;
  }

  /** Whether the adapters are still attached (not merged or closed). */
  public boolean attached() {
    return attached;
  }

  private void checkAttached() {
    if (!attached) {
      throw new IllegalStateException("the adapters were merged or closed");
    }
  }
}
