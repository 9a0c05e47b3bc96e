package org.rlhfnode.runtime.io;

import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * All weights of a HuggingFace model directory, whether saved as one {@code model.safetensors} or
 * as shards listed by {@code model.safetensors.index.json} (under whatever file names the index
 * gives). Tensors are looked up by their on-disk names; data access is zero-copy as in
 * {@link SafetensorsFile}.
 *
 * <p>As in {@code transformers}, {@code model.safetensors} wins when both it and an index exist.
 * For a sharded checkpoint the index is authoritative: every tensor it lists must be in the shard
 * it names, no tensor may be in two shards, and tensors a shard holds but the index omits are
 * ignored (with a warning).
 */
public final class CheckpointWeights implements AutoCloseable {
  static final String SINGLE_FILE = "model.safetensors";
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointWeights.class);

  private final Path modelDir;
  private final List<SafetensorsFile> files;
  private final SortedMap<String, SafetensorsFile> fileByTensor;
  private final Set<String> names;

  private CheckpointWeights(Path modelDir, List<SafetensorsFile> files, SortedMap<String, SafetensorsFile> byTensor) {
    this.modelDir = modelDir;
    this.files = List.copyOf(files);
    this.fileByTensor = Collections.unmodifiableSortedMap(byTensor);
    this.names = Collections.unmodifiableSortedSet(new TreeSet<>(byTensor.keySet()));
  }

  /**
   * Opens the weights in {@code modelDir} and validates every file's header and the index.
   *
   * @throws CheckpointFormatException if the directory has neither weights file, or a file or the index is malformed
   * @throws UncheckedIOException if a file cannot be read
   */
  public static CheckpointWeights open(Path modelDir) {
    Objects.requireNonNull(modelDir, "modelDir");
    if (!Files.isDirectory(modelDir)) {
      throw new CheckpointFormatException(modelDir, "not a directory");
    }
    Path single = modelDir.resolve(SINGLE_FILE);
    if (Files.isRegularFile(single)) {
      SafetensorsFile file = SafetensorsFile.open(single);
      SortedMap<String, SafetensorsFile> byTensor = new TreeMap<>();
      file.tensors().forEach(t -> byTensor.put(t.name(), file));
      return new CheckpointWeights(modelDir, List.of(file), byTensor);
    }
    Path index = modelDir.resolve(ShardIndex.FILE_NAME);
    if (Files.isRegularFile(index)) {
      return openSharded(modelDir, index);
    }
    throw new CheckpointFormatException(modelDir, "no " + SINGLE_FILE + " or " + ShardIndex.FILE_NAME);
  }

  private static CheckpointWeights openSharded(Path modelDir, Path index) {
    ShardIndex shardIndex = ShardIndex.read(index);
    Map<String, SafetensorsFile> shards = new TreeMap<>();
    try {
      for (Map.Entry<String, String> e : shardIndex.weightMap().entrySet()) {
        String shard = e.getValue();
        if (shards.containsKey(shard)) {
          continue;
        }
        Path path = modelDir.resolve(shard);
        if (!Files.isRegularFile(path)) {
          throw new CheckpointFormatException(index, "shard file '" + shard + "' (listed for tensor '"
              + e.getKey() + "') is missing");
        }
        shards.put(shard, SafetensorsFile.open(path));
      }
      SortedMap<String, SafetensorsFile> byTensor = assign(index, shardIndex, shards);
      return new CheckpointWeights(modelDir, new ArrayList<>(shards.values()), byTensor);
    } catch (RuntimeException e) {
      shards.values().forEach(f -> closeSuppressed(f, e));
      throw e;
    }
  }

  /** Checks the index against the shards' own headers and maps each listed tensor to its file. */
  private static SortedMap<String, SafetensorsFile> assign(Path index, ShardIndex shardIndex,
      Map<String, SafetensorsFile> shards) {
    Map<String, String> holder = new HashMap<>();
    for (Map.Entry<String, SafetensorsFile> shard : shards.entrySet()) {
      for (TensorInfo t : shard.getValue().tensors()) {
        String other = holder.putIfAbsent(t.name(), shard.getKey());
        if (other != null) {
          throw new CheckpointFormatException(index, "tensor '" + t.name() + "' is in two shards, '" + other
              + "' and '" + shard.getKey() + "'");
        }
      }
    }
    SortedMap<String, SafetensorsFile> byTensor = new TreeMap<>();
    for (Map.Entry<String, String> e : shardIndex.weightMap().entrySet()) {
      String actual = holder.get(e.getKey());
      if (!e.getValue().equals(actual)) {
        throw new CheckpointFormatException(index, "index assigns tensor '" + e.getKey() + "' to shard '"
            + e.getValue() + "', which does not contain it" + (actual == null ? "" : " (it is in '" + actual + "')"));
      }
      byTensor.put(e.getKey(), shards.get(actual));
    }
    if (holder.size() > byTensor.size()) {
      Set<String> unlisted = new TreeSet<>(holder.keySet());
      unlisted.removeAll(byTensor.keySet());
      LOG.warn("{}: ignoring {} tensors the shards hold but the index does not list, e.g. '{}'",
          index, unlisted.size(), unlisted.iterator().next());
    }
    return byTensor;
  }

  private static void closeSuppressed(SafetensorsFile file, Exception primary) {
    try {
      file.close();
    } catch (RuntimeException e) {
      primary.addSuppressed(e);
    }
  }

  /** All tensor names, sorted; unmodifiable. */
  public Set<String> names() {
    return names;
  }

  /** Whether the checkpoint has a tensor called {@code name}. */
  public boolean contains(String name) {
    return fileByTensor.containsKey(name);
  }

  /**
   * Type, shape and byte range of tensor {@code name} in its file.
   *
   * @throws NoSuchElementException if there is no such tensor
   */
  public TensorInfo info(String name) {
    return fileOfTensor(name).find(name).orElseThrow();
  }

  /**
   * The file that holds tensor {@code name}.
   *
   * @throws NoSuchElementException if there is no such tensor
   */
  public Path fileOf(String name) {
    return fileOfTensor(name).path();
  }

  /** See {@link SafetensorsFile#data}. */
  public ByteBuffer data(String name) {
    return fileOfTensor(name).data(name);
  }

  /** See {@link SafetensorsFile#copyTo(String, ByteBuffer)}. */
  public void copyTo(String name, ByteBuffer dst) {
    fileOfTensor(name).copyTo(name, dst);
  }

  /** See {@link SafetensorsFile#copyTo(String, long, ByteBuffer)}: one window of a tensor of any size. */
  public void copyTo(String name, long tensorOffset, ByteBuffer dst) {
    fileOfTensor(name).copyTo(name, tensorOffset, dst);
  }

  private SafetensorsFile fileOfTensor(String name) {
    SafetensorsFile file = fileByTensor.get(name);
    if (file == null) {
      throw new NoSuchElementException(modelDir + ": no tensor '" + name + "'");
    }
    return file;
  }

  /** Closes every file; buffers already returned stay readable. */
  @Override
  public void close() {
    SafetensorsFile.closeAll(files);
  }


  @Override
  public String toString() {
    return "CheckpointWeights[" + modelDir + ", " + fileByTensor.size() + " tensors in " + files.size() + " files]";
  }
}
