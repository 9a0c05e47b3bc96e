package org.rlhfnode.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.io.CheckpointWeights;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.ModelSaver;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

class LoraModelTest {
  /**
   * Merged vs adapted outputs, relative to their scale. Float32 alone separates x(W + sBA)ᵀ from
   * xWᵀ + s(xAᵀ)Bᵀ by summation order: on these fixtures (weights of rms 0.2, logits up to ~7) the
   * logits differ by 1e-5 to 2e-5 absolute, ~20 ulps. PEFT's own merge test allows 1e-4 + 1e-4·|y|.
   */
  private static final double MERGE_TOL = 1e-5;

  private static void assertMergedClose(float[] adapted, float[] merged, String what) {
    double scale = 1;
    for (float v : adapted) {
      scale = Math.max(scale, Math.abs(v));
    }
    double diff = Fixtures.maxAbsDiff(adapted, merged);
    assertTrue(diff <= MERGE_TOL * scale, what + " differ by " + diff + ", more than " + MERGE_TOL + " × " + scale);
  }

  @Test
  void adaptedProjectionMatchesItsMergedWeightOnRandomInputs() {
    try (CausalLm model = LoraTestSupport.load("llama"); PointerScope s = new PointerScope();
        NoGradGuard g = new NoGradGuard()) {
      LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0, "down_proj"), 4);
      LoraTestSupport.randomizeB(lora, 5, 0.05);
      LoraLayer down = lora.layers().get("model.layers.0.mlp.down_proj");
      Tensor x = torch.empty(new long[] {3, 5, 176}, Tensors.options(ScalarType.Float, DeviceSpec.CPU),
          new MemoryFormatOptional()).normal_(0.0, 1.0, new GeneratorOptional(torch.createCPUGenerator(9))); // [B, T, in]
      float[] adapted = Tensors.toFloats(down.base().forward(x)); // [B, T, out]
      Tensor merged = down.base().weight().add(down.deltaWeight()); // [out, in], the plain reference
      float[] reference = Tensors.toFloats(torch.matmul(x, merged.t()));
      double diff = Fixtures.maxAbsDiff(adapted, reference);
      assertTrue(diff <= MERGE_TOL, "adapter path and x (W + s B A)ᵀ differ by " + diff);
      lora.mergeAndUnload();
      assertTrue(Fixtures.maxAbsDiff(reference, Tensors.toFloats(down.base().forward(x))) <= MERGE_TOL);
    }
  }

  @Test
  void freshAdaptersLeaveLogitsUnchangedBecauseBIsZero() {
    try (CausalLm model = LoraTestSupport.load("llama")) {
      float[] base = LoraTestSupport.logits(model, "llama");
      try (LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0, "all-linear"), 1)) {
        assertEquals(14, lora.layers().size());
        assertArrayEquals(base, LoraTestSupport.logits(model, "llama"), 0f);
      }
    }
  }

  @Test
  void aIsKaimingUniformAndSeeded() {
    try (CausalLm model = LoraTestSupport.load("llama"); PointerScope s = new PointerScope()) {
      float[] first;
      try (LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0, "q_proj"), 7)) {
        LoraLayer q = lora.layers().get("model.layers.0.self_attn.q_proj");
        assertArrayEquals(new long[] {8, 64}, Tensors.shape(q.loraA()));
        assertArrayEquals(new long[] {64, 8}, Tensors.shape(q.loraB()));
        first = Tensors.toFloats(q.loraA());
        double bound = 1 / Math.sqrt(64);
        double max = 0;
        for (float v : first) {
          max = Math.max(max, Math.abs(v));
        }
        assertTrue(max <= bound && max > 0.9 * bound, "|A| max " + max + ", bound " + bound);
      }
      try (LoraModel again = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0, "q_proj"), 7)) {
        assertArrayEquals(first, Tensors.toFloats(again.layers().get("model.layers.0.self_attn.q_proj").loraA()), 0f);
      }
    }
  }

  @Test
  void trainedAdaptersChangeLogitsAndMergingReproducesThem(@TempDir Path dir) {
    float[] adapted;
    try (CausalLm model = LoraTestSupport.load("llama")) {
      float[] base = LoraTestSupport.logits(model, "llama");
      LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0, "all-linear"), 3);
      LoraTestSupport.randomizeB(lora, 11, 0.05);
      adapted = LoraTestSupport.logits(model, "llama");
      assertTrue(Fixtures.maxAbsDiff(base, adapted) > 1e-2, "adapters barely moved the logits");
      lora.setEnabled(false);
      assertArrayEquals(base, LoraTestSupport.logits(model, "llama"), 0f, "disabled adapters give the base model");
      lora.setEnabled(true);
      lora.mergeAndUnload();
      assertFalse(lora.attached());
      model.linears().values().forEach(l -> assertNull(l.adapter()));
      assertMergedClose(adapted, LoraTestSupport.logits(model, "llama"), "merged and adapted logits");
      ModelSaver.save(model, dir, DType.F32, ModelSaver.DEFAULT_SHARD_BYTES);
    }
    try (CheckpointWeights w = CheckpointWeights.open(dir)) {
      assertTrue(w.names().stream().noneMatch(n -> n.contains("lora")), w.names().toString());
    }
    try (CausalLm exported = ModelLoader.load(dir, DeviceSpec.CPU, ScalarType.Float)) {
      assertMergedClose(adapted, LoraTestSupport.logits(exported, "llama"), "exported and adapted logits");
    }
  }

  @Test
  void mixtralExpertAdaptersMergeToo() {
    try (CausalLm model = LoraTestSupport.load("mixtral")) {
      LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(4, 8, 0, "w1", "w2", "w3", "q_proj"), 5);
      LoraTestSupport.randomizeB(lora, 6, 0.05);
      float[] adapted = LoraTestSupport.logits(model, "mixtral");
      lora.mergeAndUnload();
      assertMergedClose(adapted, LoraTestSupport.logits(model, "mixtral"), "merged and adapted mixtral logits");
    }
  }

  @Test
  void closingWithoutMergeRestoresTheBaseModel() {
    try (CausalLm model = LoraTestSupport.load("llama")) {
      float[] base = LoraTestSupport.logits(model, "llama");
      LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(4, 8, 0, "all-linear"), 3);
      LoraTestSupport.randomizeB(lora, 11, 0.05);
      lora.close();
      assertArrayEquals(base, LoraTestSupport.logits(model, "llama"), 0f);
      assertThrows(IllegalStateException.class, lora::trainableParameters);
    }
  }

  @Test
  void secondAdapterOnTheSameProjectionIsRefused() {
    try (CausalLm model = LoraTestSupport.load("llama");
        LoraModel first = LoraModel.attach(model, LoraTestSupport.config(4, 8, 0, "q_proj"), 1)) {
      assertThrows(IllegalStateException.class,
          () -> LoraModel.attach(model, LoraTestSupport.config(4, 8, 0, "all-linear"), 1));
      assertEquals(4, first.layers().size() * 2, "the first adapter is untouched");
    }
  }

  @Test
  void bf16MergeSumsInFloat32AndRoundsOnce() {
    try (CausalLm model = LoraTestSupport.load("llama-bf16", ScalarType.BFloat16); PointerScope s = new PointerScope()) {
      LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(4, 8, 0, "o_proj"), 2);
      LoraTestSupport.randomizeB(lora, 3, 0.05);
      LoraLayer o = lora.layers().get("model.layers.1.self_attn.o_proj");
      Tensor expected; // [out, in] bf16
      try (NoGradGuard g = new NoGradGuard()) {
        expected = o.base().weight().to(ScalarType.Float).add(o.deltaWeight()).to(ScalarType.BFloat16);
      }
      lora.mergeAndUnload();
      Tensor merged = model.parameters().get("model.layers.1.self_attn.o_proj.weight");
      assertEquals(ScalarType.BFloat16, merged.scalar_type().intern());
      assertTrue(torch.equal(expected, merged));
    }
  }

  @Test
  void dropoutAppliesOnlyInTrainingAndIsSeeded() {
    try (CausalLm model = LoraTestSupport.load("llama")) {
      float[] eval;
      float[] train;
      try (LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0.5, "all-linear"), 3)) {
        LoraTestSupport.randomizeB(lora, 11, 0.05);
        eval = LoraTestSupport.logits(model, "llama");
        lora.setTraining(true);
        train = LoraTestSupport.logits(model, "llama");
        assertTrue(Fixtures.maxAbsDiff(eval, train) > 1e-3, "dropout did not change the training forward");
      }
      try (LoraModel noDropout = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0, "all-linear"), 3)) {
        LoraTestSupport.randomizeB(noDropout, 11, 0.05);
        assertArrayEquals(eval, LoraTestSupport.logits(model, "llama"), 0f, "outside training dropout is the identity");
      }
      try (LoraModel again = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0.5, "all-linear"), 3)) {
        LoraTestSupport.randomizeB(again, 11, 0.05);
        again.setTraining(true);
        assertArrayEquals(train, LoraTestSupport.logits(model, "llama"), 0f, "same seed, same masks");
      }
    }
  }
}
