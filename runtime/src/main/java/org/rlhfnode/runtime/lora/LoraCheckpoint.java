package org.rlhfnode.runtime.lora;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.io.SafetensorsFile;
import org.rlhfnode.runtime.io.SafetensorsWriter;
import org.rlhfnode.runtime.io.TensorInfo;
import org.rlhfnode.runtime.io.TensorPayload;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelSaver;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * An adapter directory in PEFT's layout, readable by {@code PeftModel.from_pretrained}:
 * {@value #CONFIG_FILE} and {@value #WEIGHTS_FILE} with tensors named as {@link PeftNames} says,
 * in float32. Loading checks the file against the model and the config exactly: a missing,
 * unexpected, mis-shaped or non-float tensor is a one-line error naming the file and the tensor.
 */
public final class LoraCheckpoint {
  public static final String CONFIG_FILE = "adapter_config.json";
  public static final String WEIGHTS_FILE = "adapter_model.safetensors";
  private static final Set<DType> FLOATS = Set.of(DType.F32, DType.F16, DType.BF16);

  /** Where an exported model keeps its adapters beside the merged weights. */
  public static final String ADAPTER_DIR = "adapter";

  private LoraCheckpoint() {}

  /**
   * Writes the model of {@code lora} as a HuggingFace directory with the adapters folded into a copy of the
   * adapted projections ({@link LoraMerge}; the model keeps its adapters attached), and the adapters
   * themselves in PEFT's format under {@value #ADAPTER_DIR}.
   */
  public static void saveMerged(LoraModel lora, Path dir, DType dtype, String baseModelNameOrPath) {
    CausalLm model = lora.model();
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard();
        CausalLm merged = CausalLm.create(model.config(), LoraMerge.merged(model.parameters(),
            lora.trainableParameters(), lora.config().scaling()), model.device())) {
      ModelSaver.save(merged, dir, dtype, ModelSaver.DEFAULT_SHARD_BYTES);
    }
    save(lora, dir.resolve(ADAPTER_DIR), baseModelNameOrPath);
  }

  /**
   * Writes the adapters of {@code lora} into {@code dir} (created if needed); each file is replaced
   * atomically, weights first, so a config never describes weights that are not there yet.
   *
   * @param baseModelNameOrPath recorded as {@code base_model_name_or_path} (the model directory or hub id)
   */
  public static void save(LoraModel lora, Path dir, String baseModelNameOrPath) {
    if (!lora.attached()) {
      throw new IllegalStateException("the adapters were merged or closed; nothing to save");
    }
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Files.createDirectories(dir);
      List<TensorPayload> payloads = new ArrayList<>();
      for (Map.Entry<String, Tensor> e : lora.trainableParameters().entrySet()) {
        Tensor cpu = e.getValue().detach().to(DeviceSpec.CPU.torchDevice(), ScalarType.Float).contiguous();
        payloads.add(NativeTensors.payload(e.getKey(), cpu));
      }
      SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), payloads, Map.of());
      List<String> targets = LoraTargets.savedNames(lora.config(), lora.layers().keySet());
      writeAtomically(dir.resolve(CONFIG_FILE), AdapterConfigJson.format(lora.config(), targets, baseModelNameOrPath));
    } catch (IOException e) {
      throw new UncheckedIOException(dir + ": cannot save adapter: " + e.getMessage(), e);
    }
  }

  /**
   * The config in {@code dir}'s {@value #CONFIG_FILE}; a regular-expression {@code target_modules}
   * comes back as the names of the modules of {@code model} it matches.
   */
  public static LoraConfig readConfig(Path dir, CausalLm model) {
    Path file = dir.resolve(CONFIG_FILE);
    if (!Files.isRegularFile(file)) {
      throw new CheckpointFormatException(dir, "no " + CONFIG_FILE + " (not a PEFT adapter directory)");
    }
    return AdapterConfigJson.read(file, model);
  }

  /**
   * Attaches the adapter saved in {@code dir} to {@code model}, in training-off mode.
   *
   * @param seed seeds the dropout masks of later training
   * @throws CheckpointFormatException if the config or weights are invalid or do not fit the model;
   *     the model is left without adapters then
   */
  public static LoraModel load(CausalLm model, Path dir, long seed) {
    LoraConfig config = readConfig(dir, model);
    Path weights = dir.resolve(WEIGHTS_FILE);
    if (!Files.isRegularFile(weights)) {
      throw new CheckpointFormatException(dir, "no " + WEIGHTS_FILE
          + (Files.exists(dir.resolve("adapter_model.bin")) ? " (adapter_model.bin, a pickle, is not read)" : ""));
    }
    LoraModel lora;
    try {
      lora = LoraModel.attach(model, config, seed);
    } catch (IllegalArgumentException e) {
      throw new CheckpointFormatException(dir.resolve(CONFIG_FILE), e.getMessage(), e);
    }
    try (SafetensorsFile file = SafetensorsFile.open(weights)) {
      Map<String, Tensor> params = lora.trainableParameters();
      check(file, params, config);
      copyInto(file, params);
      return lora;
    } catch (RuntimeException e) {
      lora.close();
      throw e;
    }
  }

  /** Names, dtypes and shapes of the file against the attached adapters, before any data moves. */
  private static void check(SafetensorsFile file, Map<String, Tensor> params, LoraConfig config) {
    Map<String, TensorInfo> found = new LinkedHashMap<>();
    file.tensors().forEach(t -> found.put(t.name(), t));
    for (String name : found.keySet()) {
      if (!params.containsKey(name)) {
        throw new CheckpointFormatException(file.path(), "tensor " + name + " is not an adapter of a module "
            + CONFIG_FILE + " targets in this model (" + params.size() + " tensors expected, e.g. "
            + params.keySet().iterator().next() + ")");
      }
    }
    for (Map.Entry<String, Tensor> e : params.entrySet()) {
      TensorInfo info = found.get(e.getKey());
      if (info == null) {
        throw new CheckpointFormatException(file.path(), "lacks tensor " + e.getKey()
            + ", which target_modules in " + CONFIG_FILE + " implies");
      }
      if (!FLOATS.contains(info.dtype())) {
        throw new CheckpointFormatException(file.path(), "tensor " + e.getKey() + " is " + info.dtype()
            + "; adapter weights must be F32, F16 or BF16");
      }
      long[] expected = Tensors.shape(e.getValue());
      if (!Arrays.equals(info.shape(), expected)) {
        throw new CheckpointFormatException(file.path(), "tensor " + e.getKey() + " has shape "
            + Arrays.toString(info.shape()) + ", expected " + Arrays.toString(expected) + " (r = "
            + config.rank() + " from " + CONFIG_FILE + ", the other size from the model)");
      }
    }
  }

  private static void copyInto(SafetensorsFile file, Map<String, Tensor> params) {
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : params.entrySet()) {
        Tensor stored = read(file, file.find(e.getKey()).orElseThrow());
        e.getValue().copy_(stored.to(e.getValue().device(), ScalarType.Float));
      }
    }
  }

  private static Tensor read(SafetensorsFile file, TensorInfo info) {
    Tensor cpu = torch.empty(info.shape(), Tensors.options(NativeTensors.scalarType(info.dtype()), DeviceSpec.CPU),
        new MemoryFormatOptional());
    long length = info.byteLength();
    for (long off = 0; off < length; off += NativeTensors.chunkSize()) {
      file.copyTo(info.name(), off, NativeTensors.bytes(cpu, off, Math.min(NativeTensors.chunkSize(), length - off)));
    }
    return cpu;
  }

  private static void writeAtomically(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, text.getBytes(StandardCharsets.UTF_8));
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
