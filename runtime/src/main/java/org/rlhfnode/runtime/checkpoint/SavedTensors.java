package org.rlhfnode.runtime.checkpoint;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.io.CheckpointFormatException;

/**
 * The trained tensors of a checkpoint directory, in either layout: consolidated ({@code model/} and
 * {@code optimizer/}: whole tensors in the one-rank names, written by stage 0 and one-rank runs) or
 * ZeRO's one file per rank ({@link ZeroLayout}). A reader asks for what it keeps: {@link #slice}, a flat
 * element range of one tensor's weights and AdamW moments (what a ZeRO rank of any world size owns), or
 * the whole tensors ({@link #wholeWeights}, {@link #wholeOptimizer}). Ranges are copied out of memory
 * maps, so only the pages of the requested ranges are read.
 *
 * <p>Opening checks the structure cheaply (the manifest lists every file read, with its size; small
 * files' SHA-256; headers, dtypes and shapes) but does not hash the large files: the group verifies a
 * checkpoint once, on rank 0 ({@link CheckpointVerifier#verify}). Tensors returned are CPU tensors in
 * the caller's {@code PointerScope}.
 */
public sealed interface SavedTensors extends AutoCloseable permits ConsolidatedTensors, ZeroTensors {
  /** Suffix of a tensor's first AdamW moment m. */
  String EXP_AVG = ".exp_avg";
  /** Suffix of a tensor's second AdamW moment v. */
  String EXP_AVG_SQ = ".exp_avg_sq";
  /** Suffix of a tensor's AdamW step count k (int64 scalar). */
  String STEP = ".step";

  /**
   * Elements [from, from + count) of one tensor's flattened state: fp32 [count] each, zeros past the
   * tensor's end (a ZeRO piece's padding).
   *
   * @param weights the weights (fp32 masters)
   * @param expAvg m, or null when the tensor was never updated
   * @param expAvgSq v, or null when the tensor was never updated
   * @param step AdamW's step count k ≥ 1, or 0 when the tensor was never updated
   */
  record Slice(Tensor weights, Tensor expAvg, Tensor expAvgSq, long step) {
    public boolean hasMoments() {
      return step > 0;
    }
  }

  /**
   * Opens the tensors of checkpoint directory {@code dir} (a {@link CheckpointManager} checkpoint or a
   * {@link RunCheckpoints} trainer part).
   *
   * @throws CheckpointFormatException naming the file at fault
   */
  static SavedTensors open(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    CheckpointManifest manifest = CheckpointVerifier.readManifest(abs);
    boolean zero = manifest.file(ZeroLayout.DIR + "/" + ZeroLayout.FILE_NAME) != null;
    boolean whole = manifest.files().stream().anyMatch(f -> f.path().startsWith(CheckpointManager.MODEL_DIR + "/"));
    if (zero && whole) {
      throw new CheckpointFormatException(abs.resolve(CheckpointManifest.FILE_NAME), "lists both "
          + CheckpointManager.MODEL_DIR + "/ and " + ZeroLayout.DIR + "/: one layout per checkpoint");
    }
    return zero ? ZeroTensors.open(abs, manifest) : ConsolidatedTensors.open(abs, manifest);
  }

  /** The file or directory that describes the tensors ({@code zero/layout.json} or {@code model/}), for errors. */
  Path source();

  /** Every saved trainable tensor's whole shape, by name. */
  Map<String, long[]> shapes();

  /**
   * Elements [from, from + count) of tensor {@code name}, flattened, with its moments and step.
   *
   * @throws CheckpointFormatException naming the file at fault
   */
  Slice slice(String name, long from, long count);

  /** Every weight, whole, in its saved shape and the dtype it was saved in (fp32 for a ZeRO checkpoint). */
  Map<String, Tensor> wholeWeights();

  /** The AdamW state, whole, in the one-rank naming ({@code n.exp_avg}, {@code n.exp_avg_sq}, {@code n.step}). */
  Map<String, Tensor> wholeOptimizer();

  /**
   * Checks that the checkpoint holds exactly the tensors {@code expected} (the model's trainable ones) in
   * those shapes.
   *
   * @throws IllegalArgumentException naming {@link #source()} and the first tensor that differs
   */
  default void requireShapes(Map<String, long[]> expected) {
    Map<String, long[]> saved = shapes();
    for (Map.Entry<String, long[]> e : expected.entrySet()) {
      long[] got = saved.get(e.getKey());
      if (got == null) {
        throw new IllegalArgumentException(source() + ": has no tensor " + e.getKey()
            + ": a checkpoint of another model");
      }
      if (!Arrays.equals(got, e.getValue())) {
        throw new IllegalArgumentException(source() + ": tensor " + e.getKey() + " has shape " + Arrays.toString(got)
            + ", the model's is " + Arrays.toString(e.getValue()) + ": a checkpoint of another model");
      }
    }
    for (String name : saved.keySet()) {
      if (!expected.containsKey(name)) {
        throw new IllegalArgumentException(source() + ": holds tensor " + name + ", which the model does not train"
            + " (" + saved.size() + " tensors vs " + expected.size() + "): a checkpoint of another model");
      }
    }
  }

  /** Closes the files; tensors already returned stay valid. */
  @Override
  void close();
}
