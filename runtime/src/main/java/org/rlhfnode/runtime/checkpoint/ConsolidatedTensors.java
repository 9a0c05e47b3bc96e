package org.rlhfnode.runtime.checkpoint;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.io.CheckpointWeights;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.io.TensorInfo;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * {@link SavedTensors} of a consolidated checkpoint: {@code model/} holds every weight whole (in the dtype
 * it was saved in) and {@code optimizer/} the whole AdamW state in the one-rank names; a slice is the
 * contiguous byte range of the flattened tensor, converted to fp32.
 */
final class ConsolidatedTensors implements SavedTensors {
  private final Path modelDir;
  private final Path optimizerDir;
  private final CheckpointWeights model;
  private final CheckpointWeights optimizer;

  private ConsolidatedTensors(Path modelDir, Path optimizerDir, CheckpointWeights model, CheckpointWeights optimizer) {
    this.modelDir = modelDir;
    this.optimizerDir = optimizerDir;
    this.model = model;
    this.optimizer = optimizer;
  }

  static ConsolidatedTensors open(Path dir, CheckpointManifest manifest) {
    for (CheckpointManifest.FileEntry f : manifest.files()) {
      if (f.path().startsWith(CheckpointManager.MODEL_DIR + "/")
          || f.path().startsWith(CheckpointManager.OPTIMIZER_DIR + "/")) {
        CheckpointVerifier.checkSize(dir, manifest, f.path());
      }
    }
    Path modelDir = dir.resolve(CheckpointManager.MODEL_DIR);
    Path optimizerDir = dir.resolve(CheckpointManager.OPTIMIZER_DIR);
    CheckpointWeights model = CheckpointWeights.open(modelDir);
    try {
      return new ConsolidatedTensors(modelDir, optimizerDir, model, CheckpointWeights.open(optimizerDir));
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  /** Also: every optimizer entry belongs to one of the weights (as {@code AdamW.restoreState} requires). */
  @Override
  public void requireShapes(Map<String, long[]> expected) {
    SavedTensors.super.requireShapes(expected);
    for (String entry : optimizer.names()) {
      String base = base(entry);
      if (base == null || !model.contains(base)) {
        throw new IllegalArgumentException(optimizer.fileOf(entry) + ": optimizer entry '" + entry
            + "' is for no weight in " + CheckpointManager.MODEL_DIR + "/");
      }
    }
  }

  private static String base(String entry) {
    for (String suffix : List.of(EXP_AVG_SQ, EXP_AVG, STEP)) {
      if (entry.endsWith(suffix)) {
        return entry.substring(0, entry.length() - suffix.length());
      }
    }
    return null;
  }

  @Override
  public Path source() {
    return modelDir;
  }

  @Override
  public Map<String, long[]> shapes() {
    Map<String, long[]> out = new LinkedHashMap<>();
    for (String name : model.names()) {
      out.put(name, model.info(name).shape());
    }
    return out;
  }

  @Override
  public Slice slice(String name, long from, long count) {
    TensorInfo w = model.info(name);
    Tensor weights = range(model, w, from, count);
    int present = 0;
    for (String suffix : List.of(EXP_AVG, EXP_AVG_SQ, STEP)) {
      present += optimizer.contains(name + suffix) ? 1 : 0;
    }
    if (present == 0) {
      return new Slice(weights, null, null, 0);
    }
    if (present != 3) {
      throw new CheckpointFormatException(optimizerDir, "the optimizer state of " + name + " needs all of " + EXP_AVG
          + ", " + EXP_AVG_SQ + " and " + STEP);
    }
    TensorInfo m = optimizer.info(name + EXP_AVG);
    TensorInfo v = optimizer.info(name + EXP_AVG_SQ);
    for (TensorInfo moment : List.of(m, v)) {
      if (moment.numel() != w.numel()) {
        throw new CheckpointFormatException(optimizer.fileOf(moment.name()), moment.name() + " has " + moment.numel()
            + " elements, the weight has " + w.numel());
      }
    }
    return new Slice(weights, range(optimizer, m, from, count), range(optimizer, v, from, count), step(name));
  }

  /** Elements [from, from + count) of a stored tensor, flattened, as fp32 [count]; zeros past its end. */
  private static Tensor range(CheckpointWeights source, TensorInfo info, long from, long count) {
    DType dtype = info.dtype();
    long have = Math.max(0, Math.min(count, info.numel() - from));
    Tensor stored = torch.zeros(new long[] {count}, Tensors.options(NativeTensors.scalarType(dtype), DeviceSpec.CPU));
    if (have > 0) {
      TensorFiles.copy(source::copyTo, info.name(), from * dtype.byteSize(), stored, 0, have * dtype.byteSize());
    }
    return stored.to(ScalarType.Float);
  }

  private long step(String name) {
    TensorInfo k = optimizer.info(name + STEP);
    if (k.numel() != 1 || (k.dtype() != DType.I64 && k.dtype() != DType.I32)) {
      throw new CheckpointFormatException(optimizer.fileOf(k.name()), k.name() + " must be one integer, is "
          + k.dtype() + " " + Arrays.toString(k.shape()));
    }
    Tensor t = torch.empty(k.shape(), Tensors.options(NativeTensors.scalarType(k.dtype()), DeviceSpec.CPU),
        new MemoryFormatOptional());
    TensorFiles.copy(optimizer::copyTo, k.name(), 0, t, 0, k.byteLength());
    long step = t.item_long();
    if (step < 1) {
      throw new CheckpointFormatException(optimizer.fileOf(k.name()), k.name() + " is " + step + ", must be ≥ 1");
    }
    return step;
  }

  @Override
  public Map<String, Tensor> wholeWeights() {
    return TensorFiles.readAll(model);
  }

  @Override
  public Map<String, Tensor> wholeOptimizer() {
    return TensorFiles.readAll(optimizer);
  }

  @Override
  public void close() {
    try {
      model.close();
    } finally {
      optimizer.close();
    }
  }
}
