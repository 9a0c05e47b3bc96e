package org.rlhfnode.runtime.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.io.DType;

/**
 * How a checkpoint written at ZeRO stage 1–3 over N ranks cuts the trainable tensors, as
 * {@code zero/layout.json} records it beside one file per rank, {@code zero/rank-RRRRR-of-NNNNN.safetensors}.
 * A tensor t of n elements is flattened and padded with zeros to N·c, c = ⌈n/N⌉ (its {@code piece});
 * rank r's file holds elements [r·c, (r+1)·c) of it: the fp32 master piece under t's own name, and,
 * once t has been updated, AdamW's {@code t.exp_avg} and {@code t.exp_avg_sq} pieces (fp32, [c]) and
 * {@code t.step} (int64 scalar, equal on every rank). Rank files carry {@code rank} and {@code world_size}
 * in their safetensors metadata. The layout is written by rank 0:
 * <pre>
 * {
 *   "format_version": 1,
 *   "world_size": 4,
 *   "zero_stage": 3,
 *   "tensors": [
 *     {"name": "model.embed_tokens.weight", "shape": [37, 32], "numel": 1184, "piece": 296, "dtype": "F32"},
 *     ...
 *   ]
 * }
 * </pre>
 * {@code dtype} is the model's compute dtype of the tensor (the pieces are always fp32).
 *
 * @param worldSize N, the ranks that wrote the checkpoint
 * @param zeroStage the stage they ran (informational: every stage writes the same pieces)
 * @param tensors the trainable tensors in the model's order
 */
public record ZeroLayout(int worldSize, int zeroStage, List<Entry> tensors) {
  /** Sub-directory of a checkpoint holding the layout and the rank files. */
  public static final String DIR = "zero";
  /** The layout's file name inside {@link #DIR}. */
  public static final String FILE_NAME = "layout.json";
  /** The layout version this code writes and reads. */
  public static final int FORMAT_VERSION = 1;
  /** Safetensors metadata keys of a rank file. */
  static final String RANK_KEY = "rank";
  static final String WORLD_KEY = "world_size";
  private static final Pattern RANK_FILE = Pattern.compile("rank-(\\d{5})-of-(\\d{5})\\.safetensors");

  /**
   * One trainable tensor.
   *
   * @param name HF name, as in the model
   * @param shape the whole tensor's shape
   * @param numel n, the product of {@code shape}
   * @param piece c = ⌈n/N⌉, the elements of each rank's piece
   * @param dtype the model's dtype of the tensor
   */
  public record Entry(String name, long[] shape, long numel, long piece, DType dtype) {
    public Entry {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(dtype, "dtype");
      shape = shape.clone();
      long product = 1;
      for (long d : shape) {
        if (d < 0) {
          throw new IllegalArgumentException(name + ": negative dimension in shape " + Arrays.toString(shape));
        }
        product = Math.multiplyExact(product, d);
      }
      if (product != numel || numel < 1) {
        throw new IllegalArgumentException(name + ": numel " + numel + " but shape " + Arrays.toString(shape));
      }
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }
  }

  public ZeroLayout {
    if (worldSize < 1 || worldSize > 99999) {
      throw new IllegalArgumentException("world_size must be 1..99999, got " + worldSize);
    }
    if (zeroStage < 1 || zeroStage > 3) {
      throw new IllegalArgumentException("zero_stage must be 1, 2 or 3, got " + zeroStage);
    }
    tensors = List.copyOf(tensors);
    Map<String, Entry> seen = new LinkedHashMap<>();
    for (Entry e : tensors) {
      if (seen.put(e.name(), e) != null) {
        throw new IllegalArgumentException("tensor '" + e.name() + "' is listed twice");
      }
      long want = (e.numel() + worldSize - 1) / worldSize;
      if (e.piece() != want) {
        throw new IllegalArgumentException(e.name() + ": piece " + e.piece() + ", but ⌈" + e.numel() + "/" + worldSize
            + "⌉ = " + want);
      }
    }
  }

  /** The rank file's name, {@code rank-00001-of-00004.safetensors}. */
  public static String rankFile(int rank, int worldSize) {
    return String.format("rank-%05d-of-%05d.safetensors", rank, worldSize);
  }

  /** {rank, world size} of a rank file's name, or null when {@code fileName} is not one. */
  static int[] parseRankFile(String fileName) {
    Matcher m = RANK_FILE.matcher(fileName);
    return m.matches() ? new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))} : null;
  }

  /** Rank {@code rank}'s file inside the checkpoint directory {@code checkpointDir}. */
  public Path rankPath(Path checkpointDir, int rank) {
    return checkpointDir.resolve(DIR).resolve(rankFile(rank, worldSize));
  }

  /** The entries by name, in the model's order. */
  public Map<String, Entry> byName() {
    Map<String, Entry> out = new LinkedHashMap<>();
    tensors.forEach(e -> out.put(e.name(), e));
    return out;
  }

  /** Writes {@code zero/layout.json} (fsynced; it must not exist) into the checkpoint directory {@code dir}. */
  public void write(Path dir) throws IOException {
    Path zero = Files.createDirectories(dir.resolve(DIR));
    DurableFiles.writeNew(zero.resolve(FILE_NAME), toBytes());
  }

  byte[] toBytes() {
    ObjectNode root = StateJson.MAPPER.createObjectNode();
    root.put("format_version", FORMAT_VERSION);
    root.put("world_size", worldSize);
    root.put("zero_stage", zeroStage);
    ArrayNode list = root.putArray("tensors");
    for (Entry e : tensors) {
      ObjectNode t = list.addObject().put("name", e.name());
      ArrayNode shape = t.putArray("shape");
      Arrays.stream(e.shape).forEach(shape::add);
      t.put("numel", e.numel()).put("piece", e.piece()).put("dtype", e.dtype().safetensorsName());
    }
    try {
      return StateJson.MAPPER.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode " + FILE_NAME + ": " + e.getOriginalMessage(), e);
    }
  }

  /**
   * Reads and checks a layout file.
   *
   * @throws CheckpointFormatException naming the file and the first problem
   */
  public static ZeroLayout read(Path file) {
    JsonNode root = StateJson.readTree(file);
    long version = StateJson.integer(file, root, "format_version");
    if (version != FORMAT_VERSION) {
      throw new CheckpointFormatException(file, "format_version " + version + " is not supported (expected "
          + FORMAT_VERSION + ")");
    }
    JsonNode list = StateJson.required(file, root, "tensors");
    if (!list.isArray()) {
      throw new CheckpointFormatException(file, "field 'tensors' must be an array");
    }
    try {
      List<Entry> entries = new ArrayList<>();
      for (JsonNode t : list) {
        JsonNode shape = StateJson.required(file, t, "shape");
        if (!shape.isArray()) {
          throw new CheckpointFormatException(file, "field 'shape' must be an array");
        }
        long[] dims = new long[shape.size()];
        for (int i = 0; i < dims.length; i++) {
          dims[i] = shape.get(i).asLong(-1);
        }
        entries.add(new Entry(StateJson.required(file, t, "name").asText(), dims, StateJson.integer(file, t, "numel"),
            StateJson.integer(file, t, "piece"), DType.fromSafetensors(StateJson.required(file, t, "dtype").asText())));
      }
      return new ZeroLayout(Math.toIntExact(StateJson.integer(file, root, "world_size")),
          Math.toIntExact(StateJson.integer(file, root, "zero_stage")), entries);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new CheckpointFormatException(file, e.getMessage(), e);
    }
  }
}
