package org.rlhfnode.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * A rollout engine's LoRA version: the base weights with the adapters merged in give the logits of the
 * model with the adapters attached (float32, ≤ 1e-5); weights without an adapter are the base's own
 * tensors; adapters that do not pair up or fit are refused by name.
 */
class LoraMergeTest {
  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "mixtral"})
  void mergedWeightsComputeWhatTheAttachedAdaptersCompute(String fixture) {
    try (CausalLm model = LoraTestSupport.load(fixture);
        LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(4, 8, 0, LoraConfig.ALL_LINEAR), 5)) {
      LoraTestSupport.randomizeB(lora, 11, 0.05);
      float[] attached = LoraTestSupport.logits(model, fixture);
      try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
        Map<String, Tensor> merged = LoraMerge.merged(model.parameters(), lora.trainableParameters(),
            lora.config().scaling());
        assertSame(model.parameters().get("model.norm.weight"), merged.get("model.norm.weight"));
        String q = "model.layers.0.self_attn.q_proj.weight";
        assertNotSame(model.parameters().get(q), merged.get(q));
        float[] served;
        try (CausalLm version = CausalLm.create(model.config(), merged, model.device())) {
          served = LoraTestSupport.logits(version, fixture);
        }
        lora.setEnabled(false);
        float[] base = LoraTestSupport.logits(model, fixture);
        lora.setEnabled(true);
        // float32 alone separates x(W + sBA)ᵀ from xWᵀ + s(xAᵀ)Bᵀ by summation order (LoraModelTest's MERGE_TOL)
        double scale = 1;
        for (float v : attached) {
          scale = Math.max(scale, Math.abs(v));
        }
        assertTrue(Fixtures.maxAbsDiff(attached, served) <= 1e-5 * scale,
            fixture + " " + Fixtures.maxAbsDiff(attached, served) + " of " + scale);
        Tensor w = model.parameters().get(q);
        Tensor expected = w.add(lora.layers().get("model.layers.0.self_attn.q_proj").deltaWeight());
        assertTrue(org.bytedeco.pytorch.global.torch.equal(expected, merged.get(q)), "W + s·B A, as mergeAndUnload");
        assertTrue(Fixtures.maxAbsDiff(base, served) > 1e-3, "the adapters change the outputs");
        assertTrue(Fixtures.maxAbsDiff(base, LoraTestSupport.logits(model, fixture)) > 1e-3, "attached again");
      }
    }
  }

  @org.junit.jupiter.api.Test
  void adaptersThatDoNotPairOrFitAreRefusedByName() {
    try (CausalLm model = LoraTestSupport.load("llama");
        LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(4, 8, 0, "q_proj"), 5);
        PointerScope scope = new PointerScope()) {
      Map<String, Tensor> adapters = new LinkedHashMap<>(lora.trainableParameters());
      String a = PeftNames.loraA("model.layers.0.self_attn.q_proj");
      String b = PeftNames.loraB("model.layers.0.self_attn.q_proj");
      Map<String, Tensor> unpaired = new LinkedHashMap<>(adapters);
      unpaired.remove(b);
      assertTrue(assertThrows(IllegalArgumentException.class,
          () -> LoraMerge.merged(model.parameters(), unpaired, 2)).getMessage().contains("pairs"));
      Map<String, Tensor> misfit = new LinkedHashMap<>(adapters);
      misfit.put(a, Tensors.floats(new float[4 * 3], 4, 3));
      assertTrue(assertThrows(IllegalArgumentException.class,
          () -> LoraMerge.merged(model.parameters(), misfit, 2)).getMessage().contains("do not fit"));
      Map<String, Tensor> stray = new LinkedHashMap<>(adapters);
      stray.put("model.layers.0.self_attn.q_proj.weight", adapters.get(a));
      assertTrue(assertThrows(IllegalArgumentException.class,
          () -> LoraMerge.merged(model.parameters(), stray, 2)).getMessage().contains("q_proj.weight"));
      Map<String, Tensor> elsewhere = new LinkedHashMap<>();
      elsewhere.put(PeftNames.loraA("model.layers.9.self_attn.q_proj"), adapters.get(a));
      elsewhere.put(PeftNames.loraB("model.layers.9.self_attn.q_proj"), adapters.get(b));
      assertTrue(assertThrows(IllegalArgumentException.class,
          () -> LoraMerge.merged(model.parameters(), elsewhere, 2)).getMessage().contains("layers.9"));
    }
  }
}
