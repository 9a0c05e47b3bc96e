package org.rlhfnode.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.algo.SftObjective;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ModelInit;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/** The trainer on a tiny random model: SFT on a learnable pattern must drive the loss down. */
class TrainerLearnsTest {
  static ModelConfig tinyConfig() {
    return ModelConfig.parse("{\"model_type\":\"llama\",\"vocab_size\":32,\"hidden_size\":32,"
        + "\"intermediate_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
        + "\"bos_token_id\":1,\"eos_token_id\":2}");
  }

  /** Sequences "1 a a+1 … a+5 2": every target token follows from the one before it. */
  static final class RepeatSource implements BatchSource<Batch> {
    private final SplittableRandom rnd;
    private final int micro;
    private final int rows;

    RepeatSource(long seed, int micro, int rows) {
      this.rnd = new SplittableRandom(seed);
      this.micro = micro;
      this.rows = rows;
    }

    Batch batch() {
      int cols = 8;
      long[] ids = new long[rows * cols];
      long[] att = new long[rows * cols];
      long[] mask = new long[rows * (cols - 1)];
      for (int r = 0; r < rows; r++) {
        long[] seq = new long[cols];
        seq[0] = 1;
        seq[1] = rnd.nextInt(3, 27);
        for (int c = 2; c < cols - 1; c++) {
          seq[c] = seq[c - 1] + 1;
        }
        seq[cols - 1] = 2;
        for (int c = 0; c < cols; c++) {
          ids[r * cols + c] = seq[c];
          att[r * cols + c] = 1;
        }
        for (int t = 1; t < cols - 1; t++) {
          mask[r * (cols - 1) + t] = 1; // targets: everything after the random first token
        }
      }
      return new Batch(rows, cols, ids, att, mask);
    }

    @Override public List<Batch> nextStep() {
      List<Batch> out = new ArrayList<>();
      for (int i = 0; i < micro; i++) {
        out.add(batch());
      }
      return out;
    }

    @Override public long stepsPerEpoch() {
      return 1000;
    }

    @Override public Map<String, Object> cursor() {
      return Map.of();
    }

    @Override public void restore(Map<String, Object> cursor) {}
  }

  @Test
  void sftOnASuccessorTaskLowersTheLossClearly() {
    TrainConfig cfg = new TrainConfig(Path.of("unused"), 1, 8, 16, 3e-3, 0.0, LrSchedule.Kind.CONSTANT_WITH_WARMUP, 1.0,
        AdamW.Options.DEFAULTS, 1, -1, -1, 1, null, false, 1, false, 60);
    try (CausalLm model = ModelInit.random(tinyConfig(), 5, 0.02, ScalarType.Float, DeviceSpec.CPU, false)) {
      Map<String, Tensor> params = model.parameters();
      params.values().forEach(t -> t.requires_grad_(true));
      try (LocalUpdate update = new LocalUpdate(params, false, cfg.adam(), cfg.maxNorm(),
          org.rlhfnode.runtime.dist.Collectives.single())) {
        Trainer<Batch> trainer = new Trainer<>(cfg, new SftObjective(model), new RepeatSource(3, 2, 8),
            update, LrSchedule.of(LrSchedule.Kind.CONSTANT_WITH_WARMUP, cfg.learningRate(), 60, 0));
        double first = trainer.step(0).loss();
        double last = 0;
        for (int s = 1; s < 60; s++) {
          Trainer.StepResult r = trainer.step(s);
          last = r.loss();
          assertEquals(96, r.tokens()); // 2 micro-batches × 8 rows × 6 targets
        }
        assertTrue(first > 3.0, "a random model starts near ln(32) ≈ 3.47, got " + first);
        assertTrue(last < 0.25 * first, "loss " + first + " → " + last);
      }
    }
  }
}
