package org.rlhfnode.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.train.LrSchedule;

/** A run stopped and resumed through a checkpoint ends with the same parameters, bit for bit, as an unbroken one. */
class ResumeWithAdamWTest {
  private static final LrSchedule SCHEDULE = LrSchedule.of(LrSchedule.Kind.COSINE_WITH_MIN_LR, 0.05, 6, 0.34);
  private static final AdamW.Options OPTIONS = new AdamW.Options(0.9, 0.95, 1e-8, 0.01);

  @TempDir
  Path root;

  /** One step of minimising Σ (w − noise)², where the noise comes from the run's generator. */
  private static void step(Map<String, Tensor> params, AdamW opt, Generator gen, long k) {
    try (PointerScope s = new PointerScope()) {
      for (Tensor w : params.values()) {
        Tensor target = torch.randn(w.sizes().vec().get(), new GeneratorOptional(gen), new TensorOptions(ScalarType.Float));
        w.sub(target).pow(new org.bytedeco.pytorch.Scalar(2)).sum().backward();
      }
      opt.step(SCHEDULE.lr(k));
      opt.zeroGrad();
    }
  }

  private static Map<String, Tensor> leaves(Map<String, Tensor> src) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    src.forEach((k, v) -> out.put(k, v.clone().requires_grad_(true)));
    return out;
  }

  private static Map<String, Tensor> initial() {
    Map<String, Tensor> w = new LinkedHashMap<>();
    w.put("a.weight", torch.randn(new long[] {4, 3}, new GeneratorOptional(torch.createCPUGenerator(1)),
        new TensorOptions(ScalarType.Float)));
    w.put("b.bias", torch.randn(new long[] {5}, new GeneratorOptional(torch.createCPUGenerator(2)),
        new TensorOptions(ScalarType.Float)));
    return w;
  }

  @Test
  void resumedRunMatchesTheUninterruptedOne() {
    try (PointerScope scope = new PointerScope()) {
      Map<String, Tensor> straight = leaves(initial());
      Generator g1 = torch.createCPUGenerator(42);
      try (AdamW opt = new AdamW(straight, OPTIONS)) {
        for (long k = 0; k < 6; k++) {
          step(straight, opt, g1, k);
        }
      }

      Map<String, Tensor> first = leaves(initial());
      Generator g2 = torch.createCPUGenerator(42);
      CheckpointManager m = new CheckpointManager(root, 2);
      try (AdamW opt = new AdamW(first, OPTIONS)) {
        for (long k = 0; k < 3; k++) {
          step(first, opt, g2, k);
        }
        m.save(CheckpointManager.stepTag(3), first, opt.exportState(),
            new TrainingState(3, 0, Map.of("index", 3), RngState.capture(42, Map.of(), g2), 3, Map.of()));
      }

      LoadedCheckpoint ck = m.loadLatest().orElseThrow();
      Map<String, Tensor> resumed = leaves(ck.modelWeights());
      Generator g3 = torch.createCPUGenerator(0);
      ck.state().rng().restoreInto(g3);
      try (AdamW opt = new AdamW(resumed, OPTIONS)) {
        opt.restoreState(ck.optimizerState());
        for (long k = ck.state().schedulerStep(); k < 6; k++) {
          step(resumed, opt, g3, k);
        }
        assertEquals(6, opt.stepOf("a.weight"));
      }
      for (String name : straight.keySet()) {
        assertArrayEquals(CheckpointTestSupport.bytes(straight.get(name).detach()),
            CheckpointTestSupport.bytes(resumed.get(name).detach()), name);
      }
    }
  }
}
