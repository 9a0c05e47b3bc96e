package org.rlhfnode.runtime.lora;

import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/** Fixture models, a fixed padded batch, and adapters with random B for the LoRA tests. */
final class LoraTestSupport {
  private LoraTestSupport() {}

  /** {@code hf-tiny/<fixture>} in float32 on the CPU. */
  static CausalLm load(String fixture) {
    return load(fixture, ScalarType.Float);
  }

  static CausalLm load(String fixture, ScalarType dtype) {
    return ModelLoader.load(Fixtures.hfTiny(fixture), DeviceSpec.CPU, dtype);
  }

  /** The fixture's left-padded batch: {input_ids [B, T], attention_mask [B, T]} in the caller's scope. */
  static Tensor[] batch(String fixture) {
    JsonNode batch = Fixtures.json(Fixtures.hfTiny(fixture).resolve("expected.json")).get("batch");
    int rows = batch.get("input_ids").size();
    int width = batch.get("input_ids").get(0).size();
    return new Tensor[] {Tensors.longs(Fixtures.flatLongs(batch.get("input_ids")), rows, width),
        Tensors.longs(Fixtures.flatLongs(batch.get("attention_mask")), rows, width)};
  }

  /** Logits [B, T, V] of the fixture batch, flattened, computed without a graph. */
  static float[] logits(CausalLm model, String fixture) {
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor[] b = batch(fixture);
      return Tensors.toFloats(model.forward(b[0], b[1]));
    }
  }

  /** Overwrites every B with N(0, std²) draws from {@code seed}, so the adapters change the outputs. */
  static void randomizeB(LoraModel lora, long seed, double std) {
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Generator gen = torch.createCPUGenerator(seed);
      for (LoraLayer l : lora.layers().values()) {
        l.loraB().normal_(0.0, std, new GeneratorOptional(gen));
      }
    }
  }

  static LoraConfig config(int rank, double alpha, double dropout, String... targets) {
    return new LoraConfig(rank, alpha, dropout, java.util.List.of(targets));
  }
}
