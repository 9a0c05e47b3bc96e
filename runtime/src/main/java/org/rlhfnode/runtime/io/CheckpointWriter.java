package org.rlhfnode.runtime.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Saves weights into a HuggingFace model directory as {@code save_pretrained} does: one
 * {@code model.safetensors} when they fit in one shard, otherwise
 * {@code model-00001-of-0000N.safetensors}, ... plus {@code model.safetensors.index.json}.
 *
 * <p>Tensors fill shards greedily in the given order; a shard is closed when the next tensor
 * would take its data past {@code maxShardBytes}, so a tensor larger than the limit ends up alone
 * in its own shard. Weight files of an earlier save in the same directory that the new save does
 * not overwrite are deleted afterwards. Each file is replaced atomically, the directory as a whole
 * is not: where a crash must never leave a mix of two saves, save to a fresh directory and rename it.
 */
public final class CheckpointWriter {
  /**
   * Names a previous save can have left. Deliberately narrower than {@code model*.safetensors}, so
   * that unrelated files a user keeps beside the model (say {@code model-ema.safetensors}) survive.
   */
  private static final Pattern SAVED_FILE =
      Pattern.compile("model(-\\d+-of-\\d+)?\\.safetensors|" + Pattern.quote(ShardIndex.FILE_NAME));

  private CheckpointWriter() {}

  /**
   * Writes {@code tensors} into {@code modelDir}, creating it if needed.
   *
   * @param maxShardBytes largest amount of tensor data per shard file (headers not counted), as
   *     {@code max_shard_size} in {@code save_pretrained}
   * @throws IllegalArgumentException if {@code maxShardBytes} is not positive, or the tensors are
   *     invalid (see {@link SafetensorsWriter#write}); nothing is written then
   * @throws UncheckedIOException if a file cannot be written or a stale one cannot be deleted
   */
  public static void write(Path modelDir, List<? extends TensorPayload> tensors, long maxShardBytes) {
    Objects.requireNonNull(modelDir, "modelDir");
    if (maxShardBytes <= 0) {
      throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
    }
    SafetensorsWriter.validate(tensors);
    try {
      Files.createDirectories(modelDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + modelDir + ": " + e, e);
    }
    List<List<TensorPayload>> shards = plan(tensors, maxShardBytes);
    Set<String> written = shards.size() == 1 ? writeSingle(modelDir, shards.get(0)) : writeShards(modelDir, shards);
    removeStale(modelDir, written);
  }

  /** Greedy packing in the given order; an empty list still gets one (empty) shard. */
  static List<List<TensorPayload>> plan(List<? extends TensorPayload> tensors, long maxShardBytes) {
    List<List<TensorPayload>> shards = new ArrayList<>();
    List<TensorPayload> current = new ArrayList<>();
    long currentBytes = 0;
    for (TensorPayload t : tensors) {
      if (!current.isEmpty() && currentBytes + t.byteLength() > maxShardBytes) {
        shards.add(current);
        current = new ArrayList<>();
        currentBytes = 0;
      }
      current.add(t);
      currentBytes += t.byteLength();
    }
    shards.add(current);
    return shards;
  }

  /** The file name {@code save_pretrained} gives shard {@code number} (1-based) of {@code count}. */
  static String shardFileName(int number, int count) {
    return String.format("model-%05d-of-%05d.safetensors", number, count);
  }

  private static Set<String> writeSingle(Path modelDir, List<TensorPayload> tensors) {
    SafetensorsWriter.write(modelDir.resolve(CheckpointWeights.SINGLE_FILE), tensors, Map.of());
    return Set.of(CheckpointWeights.SINGLE_FILE);
  }

  /** Writes the shards first and the index last, so the index never names a shard that is not there yet. */
  private static Set<String> writeShards(Path modelDir, List<List<TensorPayload>> shards) {
    Set<String> written = new HashSet<>();
    SortedMap<String, String> weightMap = new TreeMap<>();
    long totalSize = 0;
    for (int i = 0; i < shards.size(); i++) {
      String fileName = shardFileName(i + 1, shards.size());
      SafetensorsWriter.write(modelDir.resolve(fileName), shards.get(i), Map.of());
      written.add(fileName);
      for (TensorPayload t : shards.get(i)) {
        weightMap.put(t.name(), fileName);
        totalSize += t.byteLength();
      }
    }
    byte[] index = ShardIndex.format(totalSize, weightMap).getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(modelDir.resolve(ShardIndex.FILE_NAME), ch -> AtomicFiles.writeFully(ch, ByteBuffer.wrap(index)));
    written.add(ShardIndex.FILE_NAME);
    return written;
  }

  private static void removeStale(Path modelDir, Set<String> written) {
    List<Path> stale = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(modelDir)) {
      for (Path p : entries) {
        String name = p.getFileName().toString();
        if (SAVED_FILE.matcher(name).matches() && !written.contains(name)) {
          stale.add(p);
        }
      }
      for (Path p : stale) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove files of an earlier save in " + modelDir + ": " + e, e);
    }
  }
}
