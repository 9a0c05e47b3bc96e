package org.rlhfnode.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.io.CheckpointWeights;
import org.rlhfnode.runtime.io.CheckpointWriter;
import org.rlhfnode.runtime.io.TensorInfo;
import org.rlhfnode.runtime.io.TensorPayload;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.tensor.Tensors;

class AdamWTest {
  private static final AdamW.Options HAND = new AdamW.Options(0.9, 0.95, 1e-8, 0.1);

  /** Sets p.grad to exactly {@code grad} through autograd: d/dp Σ p·grad = grad. */
  private static void backwardWithGradient(Tensor p, Tensor grad) {
    p.mul(grad).sum().backward();
  }

  private static Tensor leaf(float[] data, long... shape) {
    return Tensors.floats(data, shape).requires_grad_(true);
  }

  @Test
  void matchesAHandComputedTwoStepUpdate() {
    try (PointerScope s = new PointerScope()) {
      Tensor w = leaf(new float[] {1, -2, 0.5f}, 3);
      try (AdamW opt = new AdamW(Map.of("w", w), HAND)) {
        backwardWithGradient(w, Tensors.floats(new float[] {0.5f, -1, 2}, 3));
        opt.step(0.1);
        // step 1: m̂ = g, v̂ = g², so θ = θ(1 − 0.1·0.1) − 0.1·sign(g)
        assertArrayEquals(new float[] {0.89f, -1.88f, 0.395f}, Tensors.toFloats(w), 1e-6f);
        opt.zeroGrad();
        backwardWithGradient(w, Tensors.floats(new float[] {-0.5f, 0.25f, 1}, 3));
        opt.step(0.05);
        // step 2, element 0: θ = 0.89·0.995 = 0.88555; m = −0.005, v = 0.024375;
        // m̂ = −0.005/0.19, √v̂ = √(0.024375/0.0975) = 0.5; θ += 0.05·0.0263158/0.5 → 0.8881816
        assertArrayEquals(new float[] {0.8881816f, -1.8468617f, 0.3460603f}, Tensors.toFloats(w), 1e-6f);
        assertEquals(2, opt.stepOf("w"));
      }
    }
  }

  @Test
  void agreesWithLibtorchsAdamWOverSeveralSteps() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(3);
      Tensor init = torch.randn(4, 3);
      Tensor ours = init.clone().requires_grad_(true);
      Tensor theirs = init.clone().requires_grad_(true);
      // libtorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 1e-2
      AdamWOptions libOptions = new AdamWOptions(1e-2);
      org.bytedeco.pytorch.AdamW lib = new org.bytedeco.pytorch.AdamW(new TensorVector(theirs), libOptions);
      try (AdamW opt = new AdamW(Map.of("x.weight", ours), new AdamW.Options(0.9, 0.999, 1e-8, 1e-2))) {
        for (int step = 0; step < 5; step++) {
          Tensor g = torch.randn(4, 3);
          opt.zeroGrad();
          lib.zero_grad();
          backwardWithGradient(ours, g);
          backwardWithGradient(theirs, g);
          opt.step(1e-2);
          lib.step();
        }
      }
      assertArrayEquals(Tensors.toFloats(theirs), Tensors.toFloats(ours), 1e-6f);
      assertFalse(torch.equal(init, ours), "parameters moved");
    }
  }

  @Test
  void exportThroughSafetensorsRestoreAndContinueIsBitIdentical(@TempDir Path dir) {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(5);
      Map<String, Tensor> init = new LinkedHashMap<>();
      init.put("model.layers.0.mlp.up_proj.weight", torch.randn(3, 2));
      init.put("model.layers.0.input_layernorm.weight", torch.randn(2));
      List<Map<String, Tensor>> grads = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        Map<String, Tensor> g = new LinkedHashMap<>();
        init.forEach((n, t) -> g.put(n, torch.randn_like(t)));
        grads.add(g);
      }
      AdamW.Options o = new AdamW.Options(0.9, 0.95, 1e-8, 0.1);
      Map<String, Tensor> straight = run(copies(init), o, grads, 0, 6, null);
      Map<String, Tensor> first = copies(init);
      Map<String, Tensor> exported = new LinkedHashMap<>();
      run(first, o, grads, 0, 3, exported);
      List<TensorPayload> payloads = new ArrayList<>();
      first.forEach((n, t) -> payloads.add(NativeTensors.payload(n, t.detach().contiguous())));
      exported.forEach((n, t) -> payloads.add(NativeTensors.payload("optimizer." + n, t)));
      CheckpointWriter.write(dir, payloads, Long.MAX_VALUE);
      Map<String, Tensor> params = new LinkedHashMap<>();
      Map<String, Tensor> state = new LinkedHashMap<>();
      readBack(dir, params, state);
      Map<String, Tensor> resumed = run(params, o, grads, 3, 6, state);
      for (String n : init.keySet()) {
        assertTrue(torch.equal(straight.get(n), resumed.get(n)), n + " differs after resume");
      }
    }
  }

  private static Map<String, Tensor> copies(Map<String, Tensor> init) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    init.forEach((n, t) -> out.put(n, t.clone().requires_grad_(true)));
    return out;
  }

  /** Steps {@code from..to} with a cosine schedule; restores {@code state} first when from > 0, else exports into it. */
  private static Map<String, Tensor> run(Map<String, Tensor> params, AdamW.Options o,
      List<Map<String, Tensor>> grads, int from, int to, Map<String, Tensor> state) {
    LrSchedule lr = LrSchedule.of(LrSchedule.Kind.COSINE_WITH_MIN_LR, 1e-2, 6, 0.34);
    try (AdamW opt = new AdamW(params, o)) {
      if (from > 0) {
        opt.restoreState(state);
      }
      for (int k = from; k < to; k++) {
        opt.zeroGrad();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
          backwardWithGradient(e.getValue(), grads.get(k).get(e.getKey()));
        }
        opt.step(lr.lr(k));
      }
      if (from == 0 && state != null) {
        state.putAll(opt.exportState());
      }
    }
    return params;
  }

  private static void readBack(Path dir, Map<String, Tensor> params, Map<String, Tensor> state) {
    try (CheckpointWeights w = CheckpointWeights.open(dir)) {
      for (String name : w.names()) {
        TensorInfo info = w.info(name);
        Tensor t = torch.empty(info.shape(), Tensors.options(NativeTensors.scalarType(info.dtype()), DeviceSpec.CPU),
            new MemoryFormatOptional());
        w.copyTo(name, NativeTensors.bytes(t, 0, info.byteLength()));
        if (name.startsWith("optimizer.")) {
          state.put(name.substring("optimizer.".length()), t);
        } else {
          params.put(name, t.requires_grad_(true));
        }
      }
    }
  }

  @Test
  void stepsLeaveNoNativeObjectsBehindAndCloseReleasesTheState() {
    try (PointerScope s = new PointerScope()) {
      Tensor w = leaf(new float[] {1, -2, 0.5f}, 3);
      Tensor g = Tensors.floats(new float[] {0.5f, -1, 2}, 3);
      long beforeOptimizer = Pointer.totalCount();
      AdamW opt = new AdamW(Map.of("w", w), HAND);
      long afterFirstStep = 0;
      for (int i = 0; i < 100; i++) {
        try (PointerScope step = new PointerScope()) {
          opt.zeroGrad();
          backwardWithGradient(w, g);
          GradClip.clipParameters(List.of(w), 1.0);
          opt.step(1e-3);
        }
        if (i == 0) {
          afterFirstStep = Pointer.totalCount();
        }
      }
      // Pointer.totalCount() is global: JavaCPP's deallocator thread may free other tests' garbage meanwhile
      // (seen in CI: 12 fewer), so the counts may only fall; a leak of one object per step would add 99
      long afterSteps = Pointer.totalCount();
      assertTrue(afterSteps <= afterFirstStep, afterSteps + " native objects after 100 steps, " + afterFirstStep
          + " after the first");
      opt.close();
      assertTrue(Pointer.totalCount() <= beforeOptimizer,
          Pointer.totalCount() + " native objects after close, " + beforeOptimizer + " before the optimizer");
    }
  }

  @Test
  void normWeightsAndBiasesGetNoWeightDecayAsInOpenRlhf() {
    try (PointerScope s = new PointerScope()) {
      Tensor w = leaf(new float[] {1, 1}, 2);
      Tensor norm = leaf(new float[] {1, 1}, 2);
      Tensor bias = leaf(new float[] {1, 1}, 2);
      Map<String, Tensor> params = new LinkedHashMap<>();
      params.put("model.layers.0.self_attn.q_proj.weight", w);
      params.put("model.layers.0.post_attention_layernorm.weight", norm);
      params.put("model.layers.0.self_attn.q_proj.bias", bias);
      try (AdamW opt = new AdamW(params, new AdamW.Options(0.9, 0.95, 1e-8, 0.5))) {
        Tensor zero = Tensors.floats(new float[2], 2);
        params.values().forEach(p -> backwardWithGradient(p, zero));
        opt.step(0.1); // a zero gradient moves nothing; only decay acts
      }
      assertArrayEquals(new float[] {0.95f, 0.95f}, Tensors.toFloats(w), 1e-7f);
      assertArrayEquals(new float[] {1, 1}, Tensors.toFloats(norm));
      assertArrayEquals(new float[] {1, 1}, Tensors.toFloats(bias));
    }
  }

  @Test
  void parametersWithoutAGradientAreSkippedAndZeroGradDropsGradients() {
    try (PointerScope s = new PointerScope()) {
      Tensor a = leaf(new float[] {1, 2}, 2);
      Tensor b = leaf(new float[] {3, 4}, 2);
      Map<String, Tensor> params = new LinkedHashMap<>();
      params.put("a", a);
      params.put("b", b);
      try (AdamW opt = new AdamW(params, AdamW.Options.DEFAULTS)) {
        backwardWithGradient(a, Tensors.floats(new float[] {1, 1}, 2));
        opt.step(0.1);
        assertArrayEquals(new float[] {3, 4}, Tensors.toFloats(b));
        assertEquals(1, opt.stepOf("a"));
        assertEquals(0, opt.stepOf("b"));
        Map<String, Tensor> state = opt.exportState();
        assertEquals(List.of("a.exp_avg", "a.exp_avg_sq", "a.step"), List.copyOf(state.keySet()));
        assertEquals(ScalarType.Long, state.get("a.step").scalar_type().intern());
        assertEquals(0, state.get("a.step").dim());
        opt.zeroGrad();
        assertFalse(a.grad().defined());
      }
    }
  }

  @Test
  void restoreRejectsUnknownIncompleteOrMisshapedStateAndKeepsTheOldOne() {
    try (PointerScope s = new PointerScope()) {
      Tensor a = leaf(new float[] {1, 2}, 2);
      try (AdamW opt = new AdamW(Map.of("a", a), AdamW.Options.DEFAULTS)) {
        backwardWithGradient(a, Tensors.floats(new float[] {1, 1}, 2));
        opt.step(0.1);
        Map<String, Tensor> good = opt.exportState();
        Map<String, Tensor> unknown = new LinkedHashMap<>(good);
        unknown.put("b.step", good.get("a.step"));
        assertThrows(IllegalArgumentException.class, () -> opt.restoreState(unknown));
        Map<String, Tensor> incomplete = new LinkedHashMap<>(good);
        incomplete.remove("a.exp_avg_sq");
        assertThrows(IllegalArgumentException.class, () -> opt.restoreState(incomplete));
        Map<String, Tensor> misshaped = new LinkedHashMap<>(good);
        misshaped.put("a.exp_avg", Tensors.floats(new float[3], 3));
        assertThrows(IllegalArgumentException.class, () -> opt.restoreState(misshaped));
        Map<String, Tensor> wrongType = new LinkedHashMap<>(good);
        wrongType.put("a.exp_avg", good.get("a.exp_avg").to(ScalarType.Double));
        assertThrows(IllegalArgumentException.class, () -> opt.restoreState(wrongType));
        assertEquals(1, opt.stepOf("a"));
        assertTrue(torch.equal(good.get("a.exp_avg"), opt.exportState().get("a.exp_avg")));
        opt.restoreState(Map.of());
        assertEquals(0, opt.stepOf("a"));
      }
    }
  }
}
