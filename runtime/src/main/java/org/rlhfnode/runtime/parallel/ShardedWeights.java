package org.rlhfnode.runtime.parallel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.train.GradientBuckets;

/**
 * The flat partition of a model's trainable tensors over N ranks: tensor t of n elements, flattened
 * and padded with zeros to N·c (c = ⌈n/N⌉), gives rank r the piece [r·c, (r+1)·c), held here as an
 * fp32 master shard that requires grad (AdamW updates it; its {@code grad} receives this rank's piece
 * of the summed gradient). With {@code shardModel} (ZeRO-3) the model's own tensors are emptied
 * ({@code set_data} to zero elements, as DeepSpeed does with {@code param.data}) and filled again on
 * demand by {@link #materialize}.
 */
public final class ShardedWeights implements AutoCloseable {
  /** One trainable tensor and its piece. */
  private record Part(Tensor param, long[] shape, long numel, long chunk, Tensor master) {}

  private final Map<String, Part> parts = new LinkedHashMap<>();
  private final Map<String, Tensor> masters = new LinkedHashMap<>();
  private final Collectives collectives;
  private final int n;
  private final int rank;

  ShardedWeights(Map<String, Tensor> trainable, Collectives collectives, boolean shardModel) {
    this.collectives = collectives;
    this.n = collectives.worldSize();
    this.rank = collectives.rank();
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
        Tensor p = e.getValue();
        long numel = p.numel();
        long chunk = (numel + n - 1) / n;
        Tensor master = piece(p.detach().to(ScalarType.Float), numel, chunk).clone();
        master.requires_grad_(true);
        master.retainReference();
        p.retainReference();
        parts.put(e.getKey(), new Part(p, Tensors.shape(p), numel, chunk, master));
        masters.put(e.getKey(), master);
      }
    }
    if (shardModel) {
      release(parts.keySet());
    }
  }

  /** Rank r's piece [c] of a tensor of n elements (a view when no padding is needed). */
  private Tensor piece(Tensor full, long numel, long chunk) {
    Tensor flat = full.reshape(-1);
    long from = rank * chunk;
    long have = Math.max(0, Math.min(chunk, numel - from));
    if (have == chunk) {
      return flat.narrow(0, from, chunk);
    }
    Tensor out = torch.zeros(new long[] {chunk}, like(full.scalar_type().intern(), full));
    if (have > 0) {
      out.narrow(0, 0, have).copy_(flat.narrow(0, from, have));
    }
    return out;
  }

  /** The trainable names, in the model's order. */
  public Collection<String> names() {
    return Collections.unmodifiableSet(parts.keySet());
  }

  /** The fp32 master shards by name (what AdamW updates). */
  Map<String, Tensor> masters() {
    return Collections.unmodifiableMap(masters);
  }

  /** Stage 1: sums the full gradients over the ranks, then keeps this rank's piece on the masters. */
  void allReduceGradients() {
    GradientBuckets.alignPresence(parts.values().stream().map(Part::param).toList(), collectives);
    List<Part> with = new ArrayList<>();
    List<Tensor> grads = new ArrayList<>();
    for (Part p : parts.values()) {
      Tensor g = p.param.grad();
      if (g.defined()) {
        with.add(p);
        grads.add(g.to(ScalarType.Float)); // summed in fp32 whatever the compute dtype, as stages 2 and 3
      }
    }
    GradientBuckets.allReduce(grads, collectives);
    for (int i = 0; i < with.size(); i++) {
      Part p = with.get(i);
      accumulate(p, piece(grads.get(i), p.numel, p.chunk));
      p.param.mutable_grad().reset();
    }
  }

  /**
   * Stages 2 and 3: for each named tensor with a gradient, reduce-scatters it so that this rank's
   * master receives (adds) the sum of its piece, and drops the full gradient.
   */
  public void reduceScatterGradients(Collection<String> names) {
    GradientBuckets.alignPresence(names.stream().map(n -> parts.get(n).param).toList(), collectives);
    for (String name : names) {
      try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) { // one tensor's copies at a time
        Part p = parts.get(name);
        Tensor g = p.param.grad();
        if (!g.defined()) {
          continue;
        }
        Tensor padded = padded(g.to(ScalarType.Float), p);
        Tensor mine = torch.empty(new long[] {p.chunk}, like(ScalarType.Float, g), new MemoryFormatOptional());
        collectives.reduceScatterSum(mine, padded);
        accumulate(p, mine);
        p.param.mutable_grad().reset();
      }
    }
  }

  private static void accumulate(Part p, Tensor piece) {
    Tensor existing = p.master.grad();
    if (existing.defined()) {
      existing.add_(piece);
    } else {
      p.master.mutable_grad().put(piece.contiguous().clone());
    }
  }

  /** The full tensor's n elements flattened and zero-padded to N·c (a view when n = N·c). */
  private Tensor padded(Tensor full, Part p) {
    Tensor flat = full.reshape(-1);
    if (p.numel == p.chunk * n) {
      return flat.contiguous();
    }
    Tensor out = torch.zeros(new long[] {p.chunk * n}, like(full.scalar_type().intern(), full));
    out.narrow(0, 0, p.numel).copy_(flat);
    return out;
  }

  /** The full tensor [shape] (fp32) of {@code name} assembled from every rank's piece {@code shard} [c]. */
  Tensor gather(String name, Tensor shard) {
    Part p = parts.get(name);
    Tensor whole = torch.empty(new long[] {p.chunk * n}, like(shard.scalar_type().intern(), shard), new MemoryFormatOptional());
    collectives.allGather(whole, shard.contiguous());
    return whole.narrow(0, 0, p.numel).view(p.shape);
  }

  /** This rank's piece [c] (a copy, fp32) of the full tensor {@code full} of {@code name}. */
  Tensor shardOf(String name, Tensor full) {
    Part p = parts.get(name);
    if (full.numel() != p.numel) {
      throw new IllegalArgumentException(name + " has " + full.numel() + " elements in the checkpoint, the model has "
          + p.numel);
    }
    return piece(full.to(ScalarType.Float), p.numel, p.chunk).clone();
  }

  /** Every master, gathered whole (collective). */
  Map<String, Tensor> gatherMasters() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, Part> e : parts.entrySet()) {
      out.put(e.getKey(), gather(e.getKey(), e.getValue().master.detach()));
    }
    return out;
  }

  /** The whole tensors' shapes by name (known while ZeRO-3 keeps the model's tensors empty). */
  Map<String, long[]> shapes() {
    Map<String, long[]> out = new LinkedHashMap<>();
    parts.forEach((name, p) -> out.put(name, p.shape.clone()));
    return out;
  }

  /** c = ⌈n/N⌉, the elements of each rank's piece of {@code name}. */
  long chunk(String name) {
    return parts.get(name).chunk;
  }

  /** The model's dtype of {@code name} (the masters are fp32 whatever it is). */
  ScalarType dtype(String name) {
    return parts.get(name).param.scalar_type().intern();
  }

  /** This rank's master of {@code name} ← {@code piece} ([c], any float dtype and device). */
  void setMaster(String name, Tensor piece) {
    parts.get(name).master.detach().copy_(piece);
  }

  /** Sets every master to its piece of a checkpoint's full tensors. */
  void loadMasters(Map<String, Tensor> full) {
    for (Map.Entry<String, Part> e : parts.entrySet()) {
      Tensor t = full.get(e.getKey());
      if (t == null) {
        throw new IllegalArgumentException("the checkpoint lacks tensor " + e.getKey());
      }
      e.getValue().master.detach().copy_(shardOf(e.getKey(), t));
    }
  }

  /** Stages 1–2: every model tensor ← the gathered masters (in the model's dtype). */
  void gatherAllIntoModel() {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      for (Map.Entry<String, Part> e : parts.entrySet()) {
        Part p = e.getValue();
        p.param.detach().copy_(gather(e.getKey(), p.master.detach()));
      }
    }
  }

  /** Stage 3: fills the named model tensors from the gathered masters (in the model's dtype). */
  public void materialize(Collection<String> names) {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      for (String name : names) {
        Part p = parts.get(name);
        ScalarType dtype = p.param.scalar_type().intern();
        p.param.set_data(gather(name, p.master.detach().to(dtype)));
      }
    }
  }

  /** Stage 3: empties the named model tensors (their gradients must have been reduced). */
  public void release(Collection<String> names) {
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
      for (String name : names) {
        Part p = parts.get(name);
        p.param.set_data(torch.empty(new long[] {0}, like(p.param.scalar_type().intern(), p.param), new MemoryFormatOptional()));
      }
    }
  }

  /** Bytes the model's trainable tensors hold now: all of them, or none between uses at stage 3. */
  public long modelBytes() {
    long total = 0;
    for (Part p : parts.values()) {
      total += p.param.numel() * p.param.element_size();
    }
    return total;
  }

  /** Bytes of this rank's fp32 master shards: about 1/N of the trainable tensors in fp32. */
  public long masterBytes() {
    long total = 0;
    for (Part p : parts.values()) {
      total += p.master.numel() * p.master.element_size();
    }
    return total;
  }

  /** Options for a tensor of {@code dtype} on {@code ref}'s device. */
  private static TensorOptions like(ScalarType dtype, Tensor ref) {
    return new TensorOptions(dtype).device(new DeviceOptional(ref.device()));
  }

  @Override
  public void close() {
    for (Part p : parts.values()) {
      p.master.releaseReference();
      p.param.releaseReference();
    }
  }
}
