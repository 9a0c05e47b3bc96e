package org.rlhfnode.runtime.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.io.CheckpointWriter;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.io.TensorPayload;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.NativeTensors;

/**
 * Writes a {@link CausalLm} as a HuggingFace directory: {@code config.json},
 * {@code generation_config.json} and safetensors (sharded above a size limit) in F32 or BF16.
 * Saving in the model's own dtype and reloading gives bit-identical weights.
 */
public final class ModelSaver {
  /** HF's default shard size for {@code save_pretrained}. */
  public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

  private ModelSaver() {}

  /** Saves {@code model} into {@code dir} (created if needed) with weights in {@code dtype}. */
  public static void save(CausalLm model, Path dir, DType dtype, long maxShardBytes) {
    save(model, dir, dtype, maxShardBytes, Map.of());
  }

  /** {@link #save} with extra top-level {@code config.json} keys. */
  public static void save(CausalLm model, Path dir, DType dtype, long maxShardBytes, Map<String, ?> extraConfig) {
    if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
      throw new IllegalArgumentException("save dtype must be F32, BF16 or F16, got " + dtype);
    }
    try (PointerScope scope = new PointerScope()) {
      org.rlhfnode.runtime.io.OwnerOnly.createDirectories(dir);
      List<TensorPayload> payloads = new ArrayList<>();
      for (Map.Entry<String, Tensor> e : model.parameters().entrySet()) {
        Tensor cpu = e.getValue().to(DeviceSpec.CPU.torchDevice(), NativeTensors.scalarType(dtype)).contiguous();
        payloads.add(NativeTensors.payload(e.getKey(), cpu));
      }
      CheckpointWriter.write(dir, payloads, maxShardBytes);
      writeAtomically(dir.resolve("config.json"), model.config().toJson(torchDtypeName(dtype), extraConfig));
      writeAtomically(dir.resolve("generation_config.json"), model.config().generationConfigJson());
    } catch (IOException e) {
      throw new UncheckedIOException(dir + ": cannot save model: " + e.getMessage(), e);
    }
  }

  /** The {@code torch_dtype} string HF writes for a dtype. */
  public static String torchDtypeName(DType dtype) {
    switch (dtype) {
      case BF16: return "bfloat16";
      case F16: return "float16";
      default: return "float32";
    }
  }

  private static void writeAtomically(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, text.getBytes(StandardCharsets.UTF_8));
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
