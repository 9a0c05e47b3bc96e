package org.rlhfnode.runtime.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.io.SafetensorsWriter;
import org.rlhfnode.runtime.io.TensorPayload;
import org.rlhfnode.runtime.model.ModelSaver;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.NativeTensors;

/**
 * What one rank of a trainer contributes to a checkpoint's tensors, read back by {@link SavedTensors}:
 * either the whole weights and AdamW state (the consolidated layout, equal on every rank; rank 0 writes
 * them) or, for ZeRO over N &gt; 1 ranks, this rank's pieces (one file per rank, plus rank 0's
 * {@link ZeroLayout}).
 */
public sealed interface StateShare permits StateShare.Whole, StateShare.Pieces {
  /**
   * Writes this rank's files into the checkpoint directory {@code dir} (which exists).
   *
   * @param rank this rank; 0 writes the files every rank shares
   */
  void writeTo(Path dir, int rank) throws IOException;

  /**
   * The consolidated layout: {@code model/} and {@code optimizer/} (safetensors, sharded above 5 GB).
   *
   * @param weights whole tensors by HF name, in the dtype to save
   * @param optimizer the AdamW state in the one-rank naming; may be empty
   */
  record Whole(Map<String, Tensor> weights, Map<String, Tensor> optimizer) implements StateShare {
    public Whole {
      Objects.requireNonNull(weights, "weights");
      Objects.requireNonNull(optimizer, "optimizer");
    }

    @Override
    public void writeTo(Path dir, int rank) {
      if (rank == 0) {
        TensorFiles.write(dir.resolve(CheckpointManager.MODEL_DIR), weights, ModelSaver.DEFAULT_SHARD_BYTES);
        TensorFiles.write(dir.resolve(CheckpointManager.OPTIMIZER_DIR), optimizer, ModelSaver.DEFAULT_SHARD_BYTES);
      }
    }
  }

  /**
   * One rank's pieces: {@code zero/rank-RRRRR-of-NNNNN.safetensors} and, from rank 0, {@code zero/layout.json}.
   *
   * @param layout the partition, equal on every rank
   * @param rank this rank
   * @param tensors fp32 pieces [c] under each tensor's name and AdamW's {@code .exp_avg}, {@code .exp_avg_sq}
   *     [c] and {@code .step} (int64 scalar) for the tensors updated so far; any device
   */
  record Pieces(ZeroLayout layout, int rank, Map<String, Tensor> tensors) implements StateShare {
    public Pieces {
      Objects.requireNonNull(layout, "layout");
      Objects.requireNonNull(tensors, "tensors");
      if (rank < 0 || rank >= layout.worldSize()) {
        throw new IllegalArgumentException("rank " + rank + " is not one of the layout's " + layout.worldSize());
      }
    }

    @Override
    public void writeTo(Path dir, int writer) throws IOException {
      if (writer != rank) {
        throw new IllegalArgumentException("rank " + writer + " cannot write the pieces of rank " + rank);
      }
      Path file = layout.rankPath(dir, rank);
      Files.createDirectories(file.getParent());
      try (PointerScope scope = new PointerScope()) {
        List<TensorPayload> payloads = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
          Tensor t = e.getValue();
          Tensor cpu = t.detach().to(DeviceSpec.CPU.torchDevice(), t.scalar_type().intern()).contiguous();
          payloads.add(NativeTensors.payload(e.getKey(), cpu));
        }
        SafetensorsWriter.write(file, payloads, Map.of(ZeroLayout.RANK_KEY, String.valueOf(rank),
            ZeroLayout.WORLD_KEY, String.valueOf(layout.worldSize())));
      }
      if (rank == 0) {
        layout.write(dir);
      }
    }
  }
}
