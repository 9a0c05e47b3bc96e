package org.rlhfnode.runtime.checkpoint;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.io.SafetensorsFile;
import org.rlhfnode.runtime.io.TensorInfo;

/**
 * {@link SavedTensors} of a ZeRO checkpoint ({@link ZeroLayout}): element e of tensor t (flattened) is
 * element e − k·c of t's piece in rank k's file, k = ⌊e/c⌋. A slice [from, from + count) is assembled
 * from the pieces it overlaps, each copied out of its file's memory map, so a reader opens only the
 * rank files that hold its range and reads only the pages of that range. A rank file is opened, and
 * its header checked against the layout, when first needed.
 */
final class ZeroTensors implements SavedTensors {
  /** One opened rank file and the step count of each tensor in it (0: never updated). */
  private record RankFile(Path path, SafetensorsFile file, Map<String, Long> steps) {}

  private final Path dir;
  private final CheckpointManifest manifest;
  private final Path layoutFile;
  private final ZeroLayout layout;
  private final Map<String, ZeroLayout.Entry> entries;
  private final RankFile[] files;

  private ZeroTensors(Path dir, CheckpointManifest manifest, Path layoutFile, ZeroLayout layout) {
    this.dir = dir;
    this.manifest = manifest;
    this.layoutFile = layoutFile;
    this.layout = layout;
    this.entries = layout.byName();
    this.files = new RankFile[layout.worldSize()];
  }

  static ZeroTensors open(Path dir, CheckpointManifest manifest) {
    String rel = ZeroLayout.DIR + "/" + ZeroLayout.FILE_NAME;
    CheckpointVerifier.verifyListed(dir, manifest, rel);
    Path layoutFile = dir.resolve(rel);
    ZeroLayout layout = ZeroLayout.read(layoutFile);
    checkRankFilesListed(dir, manifest, layout, layoutFile);
    return new ZeroTensors(dir, manifest, layoutFile, layout);
  }

  /** The manifest lists the N rank files of the layout, and no other file under {@code zero/}. */
  private static void checkRankFilesListed(Path dir, CheckpointManifest manifest, ZeroLayout layout, Path layoutFile) {
    int n = layout.worldSize();
    String prefix = ZeroLayout.DIR + "/";
    for (CheckpointManifest.FileEntry f : manifest.files()) {
      if (!f.path().startsWith(prefix) || f.path().equals(prefix + ZeroLayout.FILE_NAME)) {
        continue;
      }
      int[] rankOf = ZeroLayout.parseRankFile(f.path().substring(prefix.length()));
      if (rankOf == null || rankOf[1] != n || rankOf[0] >= n) {
        throw new CheckpointFormatException(dir.resolve(f.path()), "not a rank file of the " + n + " ranks that "
            + layoutFile + " says wrote this checkpoint");
      }
    }
    for (int r = 0; r < n; r++) {
      if (manifest.file(prefix + ZeroLayout.rankFile(r, n)) == null) {
        throw new CheckpointFormatException(layout.rankPath(dir, r), "missing: " + layoutFile + " says world_size "
            + n + ", but " + CheckpointManifest.FILE_NAME + " does not list this rank's file");
      }
    }
  }

  @Override
  public Path source() {
    return layoutFile;
  }

  @Override
  public Map<String, long[]> shapes() {
    Map<String, long[]> out = new LinkedHashMap<>();
    entries.forEach((name, e) -> out.put(name, e.shape()));
    return out;
  }

  @Override
  public Slice slice(String name, long from, long count) {
    ZeroLayout.Entry e = entry(name);
    long n = e.numel();
    long last = from >= n ? n - 1 : Math.min(from + count, n) - 1; // a range of padding only: the last element's rank
    long step = step(e, (int) (Math.min(from, last) / e.piece()), (int) (last / e.piece()));
    Tensor weights = read(e, name, from, count);
    if (step == 0) {
      return new Slice(weights, null, null, 0);
    }
    return new Slice(weights, read(e, name + EXP_AVG, from, count), read(e, name + EXP_AVG_SQ, from, count), step);
  }

  @Override
  public Map<String, Tensor> wholeWeights() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (ZeroLayout.Entry e : layout.tensors()) {
      out.put(e.name(), read(e, e.name(), 0, e.numel()).view(e.shape()));
    }
    return out;
  }

  @Override
  public Map<String, Tensor> wholeOptimizer() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (ZeroLayout.Entry e : layout.tensors()) {
      long step = step(e, 0, (int) ((e.numel() - 1) / e.piece()));
      if (step > 0) {
        out.put(e.name() + EXP_AVG, read(e, e.name() + EXP_AVG, 0, e.numel()).view(e.shape()));
        out.put(e.name() + EXP_AVG_SQ, read(e, e.name() + EXP_AVG_SQ, 0, e.numel()).view(e.shape()));
        out.put(e.name() + STEP, torch.scalar_tensor(new Scalar(step), new TensorOptions(ScalarType.Long)));
      }
    }
    return out;
  }

  private ZeroLayout.Entry entry(String name) {
    ZeroLayout.Entry e = entries.get(name);
    if (e == null) {
      throw new IllegalArgumentException(layoutFile + ": has no tensor " + name);
    }
    return e;
  }

  /** Elements [from, from + count) of the flattened tensor {@code key} (t or a moment of t) as fp32 [count]. */
  private Tensor read(ZeroLayout.Entry e, String key, long from, long count) {
    Tensor out = torch.zeros(new long[] {count}, new TensorOptions(ScalarType.Float)); // [count], padding stays 0
    long end = Math.min(from + count, e.numel());
    long c = e.piece();
    int bytes = DType.F32.byteSize();
    for (long pos = from; pos < end; ) {
      int k = (int) (pos / c);
      long stop = Math.min((k + 1) * c, end);
      TensorFiles.copy(file(k).file()::copyTo, key, (pos - k * c) * bytes, out, (pos - from) * bytes,
          (stop - pos) * bytes);
      pos = stop;
    }
    return out;
  }

  /** The step count of tensor e in the files of ranks [first, last], which must agree (0: never updated). */
  private long step(ZeroLayout.Entry e, int first, int last) {
    long step = file(first).steps().get(e.name());
    for (int k = first + 1; k <= last; k++) {
      long other = file(k).steps().get(e.name());
      if (other != step) {
        throw new CheckpointFormatException(file(k).path(), e.name() + STEP + " is " + other + " but "
            + ZeroLayout.rankFile(first, layout.worldSize()) + " has " + step + " (0: no optimizer state)");
      }
    }
    return step;
  }

  /** Rank k's file, opened and checked on first use. */
  private RankFile file(int k) {
    if (files[k] == null) {
      Path path = layout.rankPath(dir, k);
      CheckpointVerifier.checkSize(dir, manifest, ZeroLayout.DIR + "/" + path.getFileName());
      SafetensorsFile file = SafetensorsFile.open(path);
      try {
        files[k] = new RankFile(path, file, checkRankFile(path, file, k));
      } catch (RuntimeException ex) {
        file.close();
        throw ex;
      }
    }
    return files[k];
  }

  /** Checks rank k's header against the layout; returns each tensor's step count (0: no moments). */
  private Map<String, Long> checkRankFile(Path path, SafetensorsFile file, int k) {
    Map<String, String> meta = file.metadata();
    String want = k + " of " + layout.worldSize();
    String got = meta.get(ZeroLayout.RANK_KEY) + " of " + meta.get(ZeroLayout.WORLD_KEY);
    if (!want.equals(got)) {
      throw new CheckpointFormatException(path, "its metadata says rank " + got + ", its name and "
          + ZeroLayout.FILE_NAME + " rank " + want);
    }
    Set<String> expected = new HashSet<>();
    Map<String, Long> steps = new LinkedHashMap<>();
    for (ZeroLayout.Entry e : layout.tensors()) {
      String name = e.name();
      requirePiece(path, file, name, e.piece());
      expected.add(name);
      boolean moments = file.find(name + STEP).isPresent();
      if (moments) {
        requirePiece(path, file, name + EXP_AVG, e.piece());
        requirePiece(path, file, name + EXP_AVG_SQ, e.piece());
        expected.addAll(List.of(name + EXP_AVG, name + EXP_AVG_SQ, name + STEP));
      }
      steps.put(name, moments ? stepOf(path, file, name + STEP) : 0L);
    }
    for (TensorInfo t : file.tensors()) {
      if (!expected.contains(t.name())) {
        throw new CheckpointFormatException(path, "holds '" + t.name() + "', which " + ZeroLayout.FILE_NAME
            + " does not explain (a weight without its step, or a tensor of another model)");
      }
    }
    return steps;
  }

  private static void requirePiece(Path path, SafetensorsFile file, String name, long piece) {
    TensorInfo t = file.find(name).orElseThrow(() -> new CheckpointFormatException(path, "lacks tensor '" + name
        + "' that " + ZeroLayout.FILE_NAME + " lists"));
    if (t.dtype() != DType.F32 || !Arrays.equals(t.shape(), new long[] {piece})) {
      throw new CheckpointFormatException(path, "tensor '" + name + "' is " + t.dtype() + " "
          + Arrays.toString(t.shape()) + ", expected F32 [" + piece + "] (" + ZeroLayout.FILE_NAME + ")");
    }
  }

  private static long stepOf(Path path, SafetensorsFile file, String name) {
    TensorInfo t = file.find(name).orElseThrow();
    if (t.dtype() != DType.I64 || t.numel() != 1) {
      throw new CheckpointFormatException(path, "tensor '" + name + "' is " + t.dtype() + " "
          + Arrays.toString(t.shape()) + ", expected one I64");
    }
    long step = file.data(name).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    if (step < 1) {
      throw new CheckpointFormatException(path, "tensor '" + name + "' is " + step + ", a step count must be ≥ 1");
    }
    return step;
  }

  @Override
  public void close() {
    List<SafetensorsFile> open = new java.util.ArrayList<>();
    for (RankFile f : files) {
      if (f != null) {
        open.add(f.file());
      }
    }
    SafetensorsFile.closeAll(open);
  }

}
