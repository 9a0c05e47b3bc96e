package org.rlhfnode.runtime.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.hub.HubCache;
import org.rlhfnode.runtime.hub.HubModels;
import org.rlhfnode.runtime.io.CheckpointWeights;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.io.TensorInfo;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * Loads a HuggingFace model directory ({@code config.json} + safetensors, single or sharded) into a
 * {@link CausalLm} on a device in a compute dtype. Checkpoint tensors must match the config exactly:
 * a missing, unexpected, mis-shaped or non-float tensor is an error naming the file and tensor.
 * A tensor-parallel rank reads only its slice of each tensor (see {@link TensorSlice}).
 */
public final class ModelLoader {
  private static final Set<DType> FLOATS = Set.of(DType.F32, DType.F16, DType.BF16);

  private ModelLoader() {}

  /**
   * A missing directory is one error line saying where it was looked for: the path, and for an
   * {@code org/name} the HuggingFace hub cache entry ({@link HubModels}).
   */
  private static void requireDirectory(Path dir) {
    if (!Files.exists(dir)) {
      throw new IllegalArgumentException(HubModels.missing(dir.toString(), HubCache.fromEnvironment()));
    }
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException(dir + ": not a model directory");
    }
  }

  /** Loads {@code dir} onto {@code device}, converting weights to {@code dtype}. */
  public static CausalLm load(Path dir, DeviceSpec device, ScalarType dtype) {
    requireDirectory(dir);
    ModelConfig config = ModelConfig.load(dir);
    try (CheckpointWeights weights = CheckpointWeights.open(dir);
        PointerScope scope = new PointerScope()) {
      Map<String, long[]> layout = expected(config, weights);
      Map<String, Tensor> params = new LinkedHashMap<>();
      for (Map.Entry<String, long[]> e : layout.entrySet()) {
        params.put(e.getKey(), read(weights, e.getKey(), e.getValue(), device, dtype));
      }
      return CausalLm.create(config, params, device);
    }
  }

  /**
   * Loads rank {@code tp.rank()}'s part of a tensor-parallel model: each tensor's slice is read from
   * the safetensors by byte range, never the whole tensor. A group of one is {@link #load(Path,
   * DeviceSpec, ScalarType)}.
   *
   * @throws ConfigException if the config does not split {@code tp.size()} ways
   */
  public static CausalLm load(Path dir, DeviceSpec device, ScalarType dtype, TensorParallel tp) {
    if (tp == null || tp.size() == 1) {
      return load(dir, device, dtype);
    }
    requireDirectory(dir);
    ModelConfig config = ModelConfig.load(dir);
    tp.check(config);
    try (CheckpointWeights weights = CheckpointWeights.open(dir);
        PointerScope scope = new PointerScope()) {
      Map<String, long[]> layout = expected(config, weights);
      Map<String, TensorSlice> plan = TensorSlice.plan(config, tp, layout.keySet());
      Map<String, Tensor> params = new LinkedHashMap<>();
      for (Map.Entry<String, long[]> e : layout.entrySet()) {
        TensorSlice slice = plan.get(e.getKey());
        params.put(e.getKey(), slice == null ? read(weights, e.getKey(), e.getValue(), device, dtype)
            : readSlice(weights, e.getKey(), e.getValue(), slice, device, dtype));
      }
      return CausalLm.create(config, params, device, tp);
    }
  }

  private static Map<String, long[]> expected(ModelConfig config, CheckpointWeights weights) {
    Map<String, long[]> layout = new LinkedHashMap<>(ParameterLayout.of(config));
    if (weights.contains(ParameterLayout.SCORE)) {
      layout.put(ParameterLayout.SCORE, new long[] {1, config.hiddenSize()});
      if (!weights.contains(ParameterLayout.LM_HEAD)) {
        layout.remove(ParameterLayout.LM_HEAD);
      }
    }
    List<String> missing = new ArrayList<>();
    for (String name : layout.keySet()) {
      if (!weights.contains(name)) {
        missing.add(name);
      }
    }
    Set<String> unexpected = new TreeSet<>(weights.names());
    unexpected.removeAll(layout.keySet());
    unexpected.removeIf(n -> n.endsWith("rotary_emb.inv_freq"));
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(weights.fileOf(weights.names().iterator().next()).getParent()
          + ": checkpoint lacks " + missing.size() + " tensor(s) config.json implies, first: " + missing.get(0));
    }
    if (!unexpected.isEmpty()) {
      String first = unexpected.iterator().next();
      throw new IllegalArgumentException(weights.fileOf(first) + ": " + unexpected.size()
          + " tensor(s) config.json does not account for, first: " + first);
    }
    return layout;
  }

  private static Tensor read(CheckpointWeights weights, String name, long[] shape, DeviceSpec device,
      ScalarType dtype) {
    TensorInfo info = checked(weights, name, shape);
    Tensor cpu = torch.empty(shape, Tensors.options(NativeTensors.scalarType(info.dtype()), DeviceSpec.CPU),
        new org.bytedeco.pytorch.MemoryFormatOptional());
    copyRange(weights, name, 0, cpu, 0, info.byteLength());
    return cpu.to(device.torchDevice(), dtype);
  }

  /**
   * Reads {@code slice} of tensor {@code name} [full]: rows (dim 0) as one byte range, the padding
   * rows zero; columns (dim 1) of a matrix as one range per row.
   */
  private static Tensor readSlice(CheckpointWeights weights, String name, long[] full, TensorSlice slice,
      DeviceSpec device, ScalarType dtype) {
    TensorInfo info = checked(weights, name, full);
    long elem = info.dtype().byteSize();
    long[] local = slice.localShape(full);
    org.bytedeco.pytorch.TensorOptions opts = Tensors.options(NativeTensors.scalarType(info.dtype()), DeviceSpec.CPU);
    Tensor cpu = slice.padded() > slice.length() ? torch.zeros(local, opts)
        : torch.empty(local, opts, new org.bytedeco.pytorch.MemoryFormatOptional());
    if (slice.dim() == 0) {
      long rowBytes = info.byteLength() / full[0]; // one row: every element of the trailing dimensions
      copyRange(weights, name, slice.start() * rowBytes, cpu, 0, slice.length() * rowBytes);
    } else {
      long rowBytes = full[1] * elem;
      long pieceBytes = slice.length() * elem; // this rank's columns of one row
      for (long row = 0; row < full[0]; row++) {
        copyRange(weights, name, row * rowBytes + slice.start() * elem, cpu, row * pieceBytes, pieceBytes);
      }
    }
    return cpu.to(device.torchDevice(), dtype);
  }

  /** Copies bytes [from, from + length) of tensor {@code name} to byte {@code to} of {@code cpu}. */
  private static void copyRange(CheckpointWeights weights, String name, long from, Tensor cpu, long to, long length) {
    for (long off = 0; off < length; off += NativeTensors.chunkSize()) {
      long n = Math.min(NativeTensors.chunkSize(), length - off);
      weights.copyTo(name, from + off, NativeTensors.bytes(cpu, to + off, n));
    }
  }

  private static TensorInfo checked(CheckpointWeights weights, String name, long[] shape) {
    TensorInfo info = weights.info(name);
    if (!FLOATS.contains(info.dtype())) {
      throw new IllegalArgumentException(weights.fileOf(name) + ": tensor " + name + " is "
          + info.dtype() + "; weights must be F32, F16 or BF16");
    }
    if (!java.util.Arrays.equals(info.shape(), shape)) {
      throw new IllegalArgumentException(weights.fileOf(name) + ": tensor " + name + " has shape "
          + java.util.Arrays.toString(info.shape()) + ", config.json implies " + java.util.Arrays.toString(shape));
    }
    return info;
  }
}
