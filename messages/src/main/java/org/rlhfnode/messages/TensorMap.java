package org.rlhfnode.messages;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Named tensors of one message, e.g. {@code sequences}, {@code action_mask}, {@code advantages}
 * (see {@link TensorNames}). Immutable; names are non-blank. The binary format writes them sorted by
 * name, so equal maps serialize to equal bytes.
 */
public record TensorMap(Map<String, WireTensor> tensors) {

  /** Copies the map and checks names and values. */
  public TensorMap {
    if (tensors == null) {
      throw new IllegalArgumentException("TensorMap: tensors is null");
    }
    tensors.forEach((name, t) -> {
      if (name == null || name.isBlank() || t == null) {
        throw new IllegalArgumentException("TensorMap: blank name or null tensor for '" + name + "'");
      }
    });
    tensors = Map.copyOf(tensors);
  }

  /** An empty map. */
  public static TensorMap empty() {
    return new TensorMap(Map.of());
  }

  /** A map of one tensor. */
  public static TensorMap of(String name, WireTensor tensor) {
    return new TensorMap(Map.of(name, tensor));
  }

  /** This map plus (or with a replaced) {@code name}. */
  public TensorMap with(String name, WireTensor tensor) {
    Map<String, WireTensor> m = new HashMap<>(tensors);
    m.put(name, tensor);
    return new TensorMap(m);
  }

  /** The tensor called {@code name}, if present. */
  public Optional<WireTensor> find(String name) {
    return Optional.ofNullable(tensors.get(name));
  }

  /**
   * The tensor called {@code name}.
   *
   * @throws IllegalArgumentException naming the tensors that are present if it is missing
   */
  public WireTensor require(String name) {
    WireTensor t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException("no tensor '" + name + "'; present: " + names());
    }
    return t;
  }

  /** The names, sorted. */
  public List<String> names() {
    return tensors.keySet().stream().sorted().toList();
  }

  /** Number of tensors. */
  public int size() {
    return tensors.size();
  }

  /** Total raw element bytes over all tensors. */
  public long totalBytes() {
    return tensors.values().stream().mapToLong(WireTensor::byteCount).sum();
  }

  /**
   * The leading (batch) dimension shared by every tensor, or 0 when the map is empty.
   *
   * @throws IllegalArgumentException naming {@code owner} and the offending tensor if one is a scalar
   *     or has a different leading dimension
   */
  public long batchSize(String owner) {
    long batch = -1;
    String first = null;
    for (String name : names()) {
      WireTensor t = tensors.get(name);
      if (t.rank() == 0) {
        throw new IllegalArgumentException(owner + ": tensor '" + name + "' is a scalar; expected [B, ...]");
      }
      if (batch < 0) {
        batch = t.dim(0);
        first = name;
      } else if (t.dim(0) != batch) {
        throw new IllegalArgumentException(owner + ": tensor '" + name + "' has batch " + t.dim(0)
            + " but '" + first + "' has " + batch);
      }
    }
    return Math.max(batch, 0);
  }
}
