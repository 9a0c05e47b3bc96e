package org.rlhfnode.runtime.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.rlhfnode.runtime.algo.SftObjective;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.lora.LoraConfig;
import org.rlhfnode.runtime.lora.LoraModel;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelInit;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/** Gradient checkpointing: the layer-wise recomputing backward gives the plain backward's gradients. */
class LayerTapeTest {
  private static final double TOLERANCE = 1e-6;

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void recomputedGradientsEqualThePlainOnes(boolean tiedEmbeddings) {
    try (CausalLm plain = ModelInit.random(DataParallelTest.config(tiedEmbeddings), 11, 0.05, ScalarType.Float,
        DeviceSpec.CPU, false);
        CausalLm taped = ModelInit.random(DataParallelTest.config(tiedEmbeddings), 11, 0.05, ScalarType.Float,
            DeviceSpec.CPU, false)) {
      LayerTape tape = LayerTape.install(taped, null, null);
      Map<String, Tensor> a = gradients(plain, plain.parameters(), null);
      Map<String, Tensor> b = gradients(taped, taped.parameters(), tape);
      assertEquals(0, tape.pending());
      assertClose(a, b);
    }
  }

  @Test
  void loraDropoutDrawsTheSameMasksWhenALayerRunsAgain() {
    LoraConfig lora = new LoraConfig(4, 8, 0.3, List.of(LoraConfig.ALL_LINEAR));
    try (CausalLm plain = ModelInit.random(DataParallelTest.config(), 11, 0.05, ScalarType.Float, DeviceSpec.CPU, false);
        CausalLm taped = ModelInit.random(DataParallelTest.config(), 11, 0.05, ScalarType.Float, DeviceSpec.CPU, false);
        LoraModel la = LoraModel.attach(plain, lora, 3);
        LoraModel lb = LoraModel.attach(taped, lora, 3)) {
      for (LoraModel m : List.of(la, lb)) {
        m.setTraining(true);
        randomiseB(m.trainableParameters()); // B starts at 0, which would leave A without a gradient
      }
      LayerTape tape = LayerTape.install(taped, null, lb.dropoutGenerator());
      Map<String, Tensor> a = gradients(plain, la.trainableParameters(), null);
      Map<String, Tensor> b = gradients(taped, lb.trainableParameters(), tape);
      assertClose(a, b);
      try (PointerScope scope = new PointerScope()) {
        assertTrue(torch.equal(la.dropoutGenerator().get_state(), lb.dropoutGenerator().get_state()),
            "after the backward the generator is where the plain run left it");
      }
    }
  }

  private static void randomiseB(Map<String, Tensor> params) {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      int i = 0;
      for (Map.Entry<String, Tensor> e : params.entrySet()) {
        if (e.getKey().contains("lora_B")) {
          Tensor t = e.getValue();
          t.copy_(torch.arange(new Scalar(0L), new Scalar(t.numel())).to(ScalarType.Float)
              .mul(new Scalar(0.01 * (++i))).sin().view(t.sizes()));
        }
      }
    }
  }

  /** One forward and backward of SFT on a fixed batch; returns copies of the gradients. */
  private static Map<String, Tensor> gradients(CausalLm model, Map<String, Tensor> params, LayerTape tape) {
    params.values().forEach(t -> t.requires_grad_(true));
    Batch batch = new DataParallelTest.Sequences(4).nextStep().get(0);
    SftObjective objective = new SftObjective(model);
    java.util.LinkedHashMap<String, Tensor> out = new java.util.LinkedHashMap<>();
    try (PointerScope scope = new PointerScope()) {
      objective.forward(batch, objective.stepDenominator(List.of(batch))).loss().backward();
      if (tape != null) {
        tape.backward();
      }
    }
    for (Map.Entry<String, Tensor> e : params.entrySet()) {
      Tensor g = e.getValue().grad();
      assertTrue(g.defined(), e.getKey() + " has a gradient");
      out.put(e.getKey(), g.clone().retainReference());
    }
    return out;
  }

  private static void assertClose(Map<String, Tensor> a, Map<String, Tensor> b) {
    assertEquals(a.keySet(), b.keySet());
    for (String name : a.keySet()) {
      try (PointerScope scope = new PointerScope()) {
        double scale = a.get(name).abs().max().item_double();
        double diff = a.get(name).sub(b.get(name)).abs().max().item_double();
        assertTrue(scale > 0, name + " has a non-zero gradient");
        assertTrue(diff <= TOLERANCE * scale, name + ": max |Δ| " + diff + " vs scale " + scale);
      }
    }
  }
}
