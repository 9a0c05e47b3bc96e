package org.rlhfnode.runtime.checkpoint;

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
 * above a size limit) and back, byte for byte and in each tensor's own dtype.
 */
final class TensorFiles {
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
    Map<String, Tensor> out = new LinkedHashMap<>();
    try (CheckpointWeights weights = CheckpointWeights.open(dir)) {
      for (String name : weights.names()) {
        out.put(name, read(weights, name));
      }
    }
    return out;
  }

  private static Tensor read(CheckpointWeights weights, String name) {
    TensorInfo info = weights.info(name);
    Tensor cpu = torch.empty(info.shape(), Tensors.options(NativeTensors.scalarType(info.dtype()), DeviceSpec.CPU),
        new MemoryFormatOptional());
    long length = info.byteLength();
    long chunk = NativeTensors.chunkSize();
    for (long off = 0; off < length; off += chunk) {
      weights.copyTo(name, off, NativeTensors.bytes(cpu, off, Math.min(chunk, length - off)));
    }
    return cpu;
  }
}
