package org.rlhfnode.runtime.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.rlhfnode.runtime.algo.SftObjective;
import org.rlhfnode.runtime.checkpoint.CheckpointManager;
import org.rlhfnode.runtime.checkpoint.LoadedCheckpoint;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.io.SafetensorsFile;
import org.rlhfnode.runtime.io.TensorInfo;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelInit;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.train.BatchSource;
import org.rlhfnode.runtime.train.LrSchedule;
import org.rlhfnode.runtime.train.TrainConfig;
import org.rlhfnode.runtime.train.Trainer;
import org.rlhfnode.runtime.train.TrainingRun;
import org.rlhfnode.runtime.transport.RankGroup;

/**
 * {@link TrainingRun}s of the tiny model of {@link DataParallelTest}: a checkpoint of 2 ZeRO-3 ranks is
 * one file per rank, each with half the optimizer bytes, and resumes at 4 ranks ZeRO-1, 1 rank, 2 ranks
 * ZeRO-2 and 2 ranks ZeRO-3 with the losses of the uninterrupted 2-rank run (bit for bit at the same
 * ranks and stage; within the ≤ 1e-5 relative that rank counts may differ by otherwise, measured 0). The
 * resumed ranks start from other random weights; the final checkpoints must hold the uninterrupted
 * run's weights and AdamW state, so only a resume from the checkpoint passes.
 */
class ZeroCheckpointTest {
  private static final int STEPS = 8;
  private static final int SAVE = 4;
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  static Path shared;

  private static Path straight;
  private static Path first;

  @BeforeAll
  static void trainStraightAndFirstHalf() {
    straight = shared.resolve("straight");
    first = shared.resolve("first");
    run(straight, 2, 3, STEPS, false);
    run(first, 2, 3, SAVE, false);
  }

  /** A resumed run starts from other random weights: equal losses need the checkpoint's weights. */
  private static void run(Path save, int ranks, int stage, long steps, boolean resume) {
    TrainConfig cfg = new TrainConfig(save, 1, 2, 8, 3e-3, 0.0, LrSchedule.Kind.CONSTANT_WITH_WARMUP, 1.0,
        AdamW.Options.DEFAULTS, 1, SAVE, -1, 1, null, resume, 3, false, steps);
    RankGroup.run(ranks, TIMEOUT, "zero-ckpt", c -> rank(cfg, c, stage, resume ? 99 : 5));
  }

  private static Boolean rank(TrainConfig cfg, Collectives c, int stage, long initSeed) {
    try (CausalLm model = ModelInit.random(DataParallelTest.config(), initSeed, 0.02, ScalarType.Float, DeviceSpec.CPU,
        false)) {
      Map<String, Tensor> params = model.parameters();
      params.values().forEach(t -> t.requires_grad_(true));
      try (Parallelism.Prepared prepared = new Parallelism(stage, false).prepare(model, params, false, cfg.adam(),
          cfg.maxNorm(), c, null, false)) {
        Trainer<Batch> trainer = new Trainer<>(cfg, new SftObjective(model), new Replayable(), prepared.update(),
            LrSchedule.of(cfg.lrScheduler(), cfg.learningRate(), STEPS, 0), c, prepared.afterBackward());
        new TrainingRun<>(trainer, null, null, "zero-ckpt").run();
      }
    }
    return true; // RankGroup collects the ranks' results in a List, which holds no null
  }

  /** {@link DataParallelTest.Sequences} with a cursor: the number of steps drawn, replayed on restore. */
  private static final class Replayable implements BatchSource<Batch> {
    private DataParallelTest.Sequences rows = new DataParallelTest.Sequences(7);
    private long drawn;

    @Override
    public List<Batch> nextStep() {
      drawn++;
      return rows.nextStep();
    }

    @Override
    public long stepsPerEpoch() {
      return rows.stepsPerEpoch();
    }

    @Override
    public Map<String, Object> cursor() {
      return Map.of("drawn", drawn);
    }

    @Override
    public void restore(Map<String, Object> cursor) {
      rows = new DataParallelTest.Sequences(7);
      drawn = 0;
      long target = ((Number) cursor.get("drawn")).longValue();
      while (drawn < target) {
        nextStep();
      }
    }
  }

  /** The loss of every logged step in {@code save/metrics.jsonl}. */
  private static Map<Long, Double> losses(Path save) {
    Map<Long, Double> out = new LinkedHashMap<>();
    try (Stream<String> lines = Files.lines(save.resolve("metrics.jsonl"))) {
      for (String line : (Iterable<String>) lines::iterator) {
        JsonNode row = JSON.readTree(line);
        if (row.has("loss")) {
          out.put(row.get("step").asLong(), row.get("loss").asDouble());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private static Path zeroDir(Path save, int step) {
    return save.resolve("checkpoints").resolve("global_step_" + step).resolve("zero");
  }

  @Test
  void twoZero3RanksWriteOneFileEachHoldingHalfTheOptimizerBytes() throws IOException {
    Path ckpt = zeroDir(first, SAVE).getParent();
    assertFalse(Files.exists(ckpt.resolve("model")) || Files.exists(ckpt.resolve("optimizer")), "no consolidated copy");
    long numel = 0;
    try (CausalLm model = ModelInit.random(DataParallelTest.config(), 5, 0.02, ScalarType.Float, DeviceSpec.CPU,
        false)) {
      for (Tensor t : model.parameters().values()) {
        numel += t.numel();
      }
    }
    long oneRankOptimizerBytes = 2 * 4 * numel; // m and v in fp32
    for (int r = 0; r < 2; r++) {
      Path file = zeroDir(first, SAVE).resolve(String.format("rank-%05d-of-00002.safetensors", r));
      long moments = 0;
      try (SafetensorsFile f = SafetensorsFile.open(file)) {
        for (TensorInfo t : f.tensors()) {
          moments += t.name().endsWith(".exp_avg") || t.name().endsWith(".exp_avg_sq") ? t.byteLength() : 0;
        }
      }
      System.out.printf("%s: %d bytes, %d of them AdamW moments (one rank's moments: %d bytes)%n", file.getFileName(),
          Files.size(file), moments, oneRankOptimizerBytes);
      assertEquals(0.5, (double) moments / oneRankOptimizerBytes, 0.02, file + ": share of the optimizer bytes");
    }
    try (Stream<Path> files = Files.list(zeroDir(first, SAVE))) {
      assertEquals(3, files.count(), "layout.json and one file per rank");
    }
  }

  @ParameterizedTest
  @CsvSource({"2,3,true", "4,1,false", "1,0,false", "2,2,false"})
  void aTwoRankZero3CheckpointResumesWithTheUninterruptedLosses(int ranks, int stage, boolean bitExact,
      @TempDir Path tmp) throws IOException {
    Path resumed = tmp.resolve("resumed");
    copy(first, resumed);
    run(resumed, ranks, stage, STEPS, true);
    Map<Long, Double> want = losses(straight);
    Map<Long, Double> got = losses(resumed);
    assertEquals(want.keySet(), got.keySet(), "steps logged");
    double worst = 0;
    for (long s = 1; s <= STEPS; s++) {
      double rel = Math.abs(got.get(s) - want.get(s)) / Math.abs(want.get(s));
      worst = Math.max(worst, rel);
      if (bitExact || s <= SAVE) {
        assertEquals(want.get(s), got.get(s), "step " + s);
      } else {
        assertTrue(rel <= 1e-5, "step " + s + ": " + got.get(s) + " vs " + want.get(s));
      }
    }
    System.out.printf("resumed on %d rank(s) at ZeRO-%d: largest relative loss difference %.2e%n", ranks, stage, worst);
    assertEquals(ranks > 1 && stage > 0, Files.isDirectory(zeroDir(resumed, STEPS)), "the next checkpoint's layout");
    assertSameState(straight, resumed, bitExact);
  }

  /** The final checkpoints hold the same weights and AdamW state (read whole, whatever their layout). */
  private static void assertSameState(Path expected, Path actual, boolean bitExact) {
    try (PointerScope scope = new PointerScope()) {
      LoadedCheckpoint a = new CheckpointManager(expected.resolve("checkpoints"), 3).loadLatest().orElseThrow();
      LoadedCheckpoint b = new CheckpointManager(actual.resolve("checkpoints"), 3).loadLatest().orElseThrow();
      assertEquals(STEPS, b.state().step());
      Map<String, Tensor> want = new LinkedHashMap<>(a.modelWeights());
      want.putAll(a.optimizerState());
      Map<String, Tensor> got = new LinkedHashMap<>(b.modelWeights());
      got.putAll(b.optimizerState());
      assertEquals(want.keySet(), got.keySet());
      for (Map.Entry<String, Tensor> e : want.entrySet()) {
        Tensor x = e.getValue();
        Tensor y = got.get(e.getKey());
        if (bitExact) {
          assertTrue(torch.equal(x, y), e.getKey() + " bit for bit");
        } else {
          double diff = x.sub(y).abs().max().item_double();
          double scale = x.abs().max().item_double();
          assertTrue(diff <= 1e-5 * scale, e.getKey() + ": max |Δ| " + diff + " of " + scale);
        }
      }
    }
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
