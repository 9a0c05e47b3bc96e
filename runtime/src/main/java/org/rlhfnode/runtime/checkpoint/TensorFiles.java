package org.rlhfnode.runtime.checkpoint;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.rlhfnode.runtime.io.CheckpointWeights;
import org.rlhfnode.runtime.io.CheckpointWriter;
import org.rlhfnode.runtime.io.TensorInfo;
import org.rlhfnode.runtime.io.TensorPayload;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * A map of named tensors as a safetensors directory (the layout of {@link CheckpointWriter}, sharded
 * above a size limit) and back, byte for byte and in each tensor's own dtype; and ranges of a stored
 * tensor's bytes copied into native memory.
 */
final class TensorFiles {
  /** Where a stored tensor's bytes come from: a safetensors file or a directory of them. */
  @FunctionalInterface
  interface Source {
    /** Copies {@code dst.remaining()} bytes of tensor {@code name}, from its byte {@code offset}, into {@code dst}. */
    void copyTo(String name, long offset, ByteBuffer dst);
  }

  private TensorFiles() {}

  /** Writes {@code tensors} (any device, any layout) into {@code dir}, created if needed. */
  static void write(Path dir, Map<String, Tensor> tensors, long maxShardBytes) {
    try (PointerScope scope = new PointerScope()) {
      List<TensorPayload> payloads = new ArrayList<>();
      for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
        Tensor t = e.getValue();
        // detach: a copy off the GPU must not join the autograd graph of a trainable parameter
        Tensor cpu = t.detach().to(DeviceSpec.CPU.torchDevice(), t.scalar_type().intern()).contiguous();
        payloads.add(NativeTensors.payload(e.getKey(), cpu));
      }
      CheckpointWriter.write(dir, payloads, maxShardBytes);
    }
  }

  /** Every tensor in {@code dir} as a CPU tensor in its stored dtype, sorted by name, in the caller's scope. */
  static Map<String, Tensor> read(Path dir) {
    try (CheckpointWeights weights = CheckpointWeights.open(dir)) {
      return readAll(weights);
    }
  }

  /** Every tensor of an open directory, as {@link #read(Path)} returns them. */
  static Map<String, Tensor> readAll(CheckpointWeights weights) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (String name : weights.names()) {
      out.put(name, read(weights, name));
    }
    return out;
  }

  private static Tensor read(CheckpointWeights weights, String name) {
    TensorInfo info = weights.info(name);
    Tensor cpu = torch.empty(info.shape(), Tensors.options(NativeTensors.scalarType(info.dtype()), DeviceSpec.CPU),
        new MemoryFormatOptional());
    copy(weights::copyTo, name, 0, cpu, 0, info.byteLength());
    return cpu;
  }

  /**
   * Copies bytes [{@code from}, {@code from + length}) of stored tensor {@code name} into the contiguous
   * CPU tensor {@code dst} at its byte {@code at}, a window of at most {@link NativeTensors#chunkSize()}
   * at a time: a memory-mapped source reads only the pages of that range.
   */
  static void copy(Source source, String name, long from, Tensor dst, long at, long length) {
    long chunk = NativeTensors.chunkSize();
    for (long off = 0; off < length; off += chunk) {
      source.copyTo(name, from + off, NativeTensors.bytes(dst, at + off, Math.min(chunk, length - off)));
    }
  }
}
