package org.rlhfnode.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * ZeRO checkpoints written as N ranks write them (one file per rank, a layout, one manifest) read back
 * on any rank count: every slice [r·c', (r+1)·c') is the matching range of the whole tensor (zeros past
 * its end), whole tensors come back bit for bit, and a missing, foreign or malformed rank file is one
 * error naming it.
 */
class ZeroTensorsTest {
  private static final long STEP = 5;

  @TempDir
  Path root;

  /** a: 10 elements (pieces of 4, 4, 2 + padding over 3 ranks); b: 3 elements (1 per rank). */
  private static Map<String, Tensor> whole() {
    GeneratorOptional gen = new GeneratorOptional(torch.createCPUGenerator(7));
    Map<String, Tensor> w = new LinkedHashMap<>();
    w.put("a.weight", torch.randn(new long[] {5, 2}, gen, new TensorOptions(ScalarType.Float)));
    w.put("b.bias", torch.randn(new long[] {3}, gen, new TensorOptions(ScalarType.Float)));
    return w;
  }

  /** Elements [from, from + count) of {@code t} flattened, zeros past its end. */
  private static Tensor range(Tensor t, long from, long count) {
    Tensor flat = t.reshape(-1);
    Tensor out = torch.zeros(new long[] {count}, new TensorOptions(ScalarType.Float));
    long have = Math.max(0, Math.min(count, flat.numel() - from));
    if (have > 0) {
      out.narrow(0, 0, have).copy_(flat.narrow(0, from, have));
    }
    return out;
  }

  /** Rank r's share of {@code w}: pieces, moments 2w and 3w, step 5. */
  private static Map<String, Tensor> pieces(Map<String, Tensor> w, ZeroLayout layout, int r) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (ZeroLayout.Entry e : layout.tensors()) {
      Tensor t = w.get(e.name());
      long c = e.piece();
      out.put(e.name(), range(t, r * c, c));
      out.put(e.name() + SavedTensors.EXP_AVG, range(t.mul(new Scalar(2.0)), r * c, c));
      out.put(e.name() + SavedTensors.EXP_AVG_SQ, range(t.mul(new Scalar(3.0)), r * c, c));
      out.put(e.name() + SavedTensors.STEP, torch.scalar_tensor(new Scalar(STEP), new TensorOptions(ScalarType.Long)));
    }
    return out;
  }

  private static ZeroLayout layout(Map<String, Tensor> w, int n) {
    List<ZeroLayout.Entry> entries = new ArrayList<>();
    w.forEach((name, t) -> entries.add(new ZeroLayout.Entry(name, Tensors.shape(t), t.numel(),
        (t.numel() + n - 1) / n, DType.BF16)));
    return new ZeroLayout(n, 3, entries);
  }

  /** Hook: what rank r writes (its pieces, by default), then tampering with the staging directory. */
  private interface Tamper {
    void apply(Path staging) throws IOException;
  }

  private Path save(Map<String, Tensor> w, int n, BiFunction<Integer, Map<String, Tensor>, Map<String, Tensor>> edit,
      Tamper tamper) throws IOException {
    CheckpointManager m = new CheckpointManager(root, 3);
    String tag = CheckpointManager.stepTag(STEP);
    Path staging = m.sharedStaging(tag);
    m.beginShared(staging);
    ZeroLayout layout = layout(w, n);
    for (int r = 0; r < n; r++) {
      new StateShare.Pieces(layout, r, edit.apply(r, pieces(w, layout, r))).writeTo(staging, r);
    }
    CheckpointManager.writeState(staging, TrainingState.at(STEP, 0, Map.of(), RngState.of(1, Map.of())));
    tamper.apply(staging);
    return m.commit(staging, tag, STEP);
  }

  private Path save(Map<String, Tensor> w, int n) throws IOException {
    return save(w, n, (r, t) -> t, staging -> { });
  }

  @Test
  void everyRankCountReadsItsPiecesAndTheWholeTensorsBackExactly() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      Map<String, Tensor> w = whole();
      Path dir = save(w, 3);
      assertEquals(List.of("layout.json", "rank-00000-of-00003.safetensors", "rank-00001-of-00003.safetensors",
          "rank-00002-of-00003.safetensors"), CheckpointTestSupport.names(dir.resolve("zero")));
      assertFalse(Files.exists(dir.resolve("model")) || Files.exists(dir.resolve("optimizer")));
      CheckpointVerifier.verify(dir);
      try (SavedTensors saved = SavedTensors.open(dir)) {
        for (int ranks : new int[] {1, 2, 3, 4, 5}) {
          for (int r = 0; r < ranks; r++) {
            for (Map.Entry<String, Tensor> e : w.entrySet()) {
              long c = (e.getValue().numel() + ranks - 1) / ranks;
              SavedTensors.Slice s = saved.slice(e.getKey(), r * c, c);
              String what = e.getKey() + " rank " + r + " of " + ranks;
              assertBytes(range(e.getValue(), r * c, c), s.weights(), what);
              assertBytes(range(e.getValue().mul(new Scalar(2.0)), r * c, c), s.expAvg(), what + " m");
              assertBytes(range(e.getValue().mul(new Scalar(3.0)), r * c, c), s.expAvgSq(), what + " v");
              assertEquals(STEP, s.step(), what);
            }
          }
        }
      }
      LoadedCheckpoint loaded = new CheckpointManager(root, 3).load(dir); // the pieces consolidated
      for (Map.Entry<String, Tensor> e : w.entrySet()) {
        assertBytes(e.getValue(), loaded.modelWeights().get(e.getKey()), e.getKey());
        assertArrayEquals(Tensors.shape(e.getValue()), Tensors.shape(loaded.modelWeights().get(e.getKey())));
        assertBytes(e.getValue().mul(new Scalar(3.0)), loaded.optimizerState().get(e.getKey() + ".exp_avg_sq"), "v");
        assertEquals(STEP, loaded.optimizerState().get(e.getKey() + ".step").item_long());
      }
    }
  }

  private static void assertBytes(Tensor expected, Tensor actual, String what) {
    assertArrayEquals(CheckpointTestSupport.bytes(expected), CheckpointTestSupport.bytes(actual), what);
  }

  @Test
  void aCorruptRankFileFailsVerificationNamingIt() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      Path dir = save(whole(), 3);
      Path rank1 = dir.resolve("zero").resolve("rank-00001-of-00003.safetensors");
      CheckpointTestSupport.flipLastByte(rank1);
      CheckpointManager m = new CheckpointManager(root, 3);
      CheckpointTestSupport.assertChecksumMismatch(rank1, () -> m.load(dir));
      try (CheckpointTestSupport.LogCapture log = new CheckpointTestSupport.LogCapture(CheckpointManager.class)) {
        assertTrue(m.latest().isEmpty());
        assertTrue(log.warnings().stream().anyMatch(s -> s.contains(rank1.toString())), log.warnings().toString());
      }
    }
  }

  @Test
  void aMissingRankFileOrOneOfAnotherWorldSizeIsRefusedNamingIt() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      Path missing = save(whole(), 3, (r, t) -> t,
          staging -> Files.delete(staging.resolve("zero").resolve("rank-00002-of-00003.safetensors")));
      assertRefused(missing.resolve("zero").resolve("rank-00002-of-00003.safetensors"), "missing",
          () -> SavedTensors.open(missing).close());

      Path foreign = save(whole(), 3, (r, t) -> t, staging -> Files.copy(
          staging.resolve("zero").resolve("rank-00000-of-00003.safetensors"),
          staging.resolve("zero").resolve("rank-00000-of-00002.safetensors")));
      assertRefused(foreign.resolve("zero").resolve("rank-00000-of-00002.safetensors"), "not a rank file of the 3",
          () -> SavedTensors.open(foreign).close());
    }
  }

  @Test
  void aRankFileLackingATensorOrWithAWrongShapeIsRefusedNamingIt() throws IOException {
    try (PointerScope scope = new PointerScope()) {
      Path lacking = save(whole(), 3, (r, t) -> {
        if (r == 1) {
          t.keySet().removeIf(k -> k.startsWith("b.bias"));
        }
        return t;
      }, staging -> { });
      Path rank1 = lacking.resolve("zero").resolve("rank-00001-of-00003.safetensors");
      try (SavedTensors saved = SavedTensors.open(lacking)) {
        saved.slice("a.weight", 0, 4); // rank 0's file is sound
        assertRefused(rank1, "lacks tensor 'b.bias'", () -> saved.slice("a.weight", 4, 4));
      }

      Path misshapen = save(whole(), 3, (r, t) -> {
        if (r == 2) {
          t.put("a.weight", torch.zeros(new long[] {5}, new TensorOptions(ScalarType.Float)));
        }
        return t;
      }, staging -> { });
      Path rank2 = misshapen.resolve("zero").resolve("rank-00002-of-00003.safetensors");
      try (SavedTensors saved = SavedTensors.open(misshapen)) {
        assertRefused(rank2, "expected F32 [4]", () -> saved.wholeWeights());
        IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
            () -> saved.requireShapes(Map.of("a.weight", new long[] {10}, "b.bias", new long[] {3})));
        assertTrue(other.getMessage().startsWith(misshapen.resolve("zero").resolve("layout.json") + ": tensor a.weight"
            + " has shape [5, 2], the model's is [10]"), other.getMessage());
      }
    }
  }

  private static void assertRefused(Path file, String detail, org.junit.jupiter.api.function.Executable read) {
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, read);
    assertEquals(file, e.file());
    assertTrue(e.getMessage().startsWith(file + ": ") && e.getMessage().contains(detail), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }
}
