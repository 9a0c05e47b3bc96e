package org.rlhfnode.runtime.transport;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.TensorParallel;
import org.rlhfnode.runtime.model.TensorSlice;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * One weight version of a model as the transports move it: a version number, one flat little-endian byte
 * buffer and the list of named tensors in it (HF name, safetensors dtype name, shape, byte offset). The
 * publisher builds it from a model ({@link #of}); a receiver fills a {@link PayloadBuffer} chunk by chunk or
 * by a collective, wraps it with the layout it was sent, and rebuilds the model ({@link #toModel}). The bytes
 * are each tensor's own, in its dtype, so the round trip is bit-exact. Owns its buffer: {@link #close()}
 * frees it.
 */
public final class WeightPayload implements AutoCloseable {
  /** Offsets of {@link #of} are multiples of this, so a tensor's view of the buffer is aligned for any dtype. */
  public static final int ALIGNMENT = 64;

  /** Where tensor {@code name} lies in the buffer: dtype (safetensors name, e.g. "BF16"), shape, byte offset. */
  public record Entry(String name, String dtype, long[] shape, long offset) {
    /** Checks the fields and copies the shape. */
    public Entry {
      Objects.requireNonNull(name, "Entry.name");
      DType.fromSafetensors(dtype);
      shape = shape.clone();
      for (long d : shape) {
        if (d < 0) {
          throw new IllegalArgumentException("Entry " + name + ": negative dimension in " + Arrays.toString(shape));
        }
      }
      if (offset < 0) {
        throw new IllegalArgumentException("Entry " + name + ": offset " + offset + " < 0");
      }
    }

    /** The shape (a copy). */
    @Override
    public long[] shape() {
      return shape.clone();
    }

    /** Bytes the tensor occupies. */
    public long byteCount() {
      long n = DType.fromSafetensors(dtype).byteSize();
      for (long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      return n;
    }

    /** First byte after the tensor. */
    public long end() {
      return Math.addExact(offset, byteCount());
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Entry e && name.equals(e.name) && dtype.equals(e.dtype) && Arrays.equals(shape, e.shape)
          && offset == e.offset;
    }

    @Override
    public int hashCode() {
      return Objects.hash(name, dtype, Arrays.hashCode(shape), offset);
    }

    @Override
    public String toString() {
      return "Entry[" + name + " " + dtype + Arrays.toString(shape) + " @" + offset + "]";
    }
  }

  private final long version;
  private final PayloadBuffer buffer;
  private final List<Entry> entries;
  private volatile String digest; // computed on first use

  /**
   * Wraps {@code buffer} (ownership passes to the payload) as weight version {@code version}.
   *
   * @throws IllegalArgumentException if a tensor runs past the buffer or overlaps another, or a name repeats
   */
  public WeightPayload(long version, PayloadBuffer buffer, List<Entry> entries) {
    if (version < 0) {
      throw new IllegalArgumentException("WeightPayload version must be >= 0, got " + version);
    }
    this.version = version;
    this.buffer = Objects.requireNonNull(buffer, "buffer");
    this.entries = List.copyOf(entries);
    checkLayout(this.entries, buffer.size());
  }

  private static void checkLayout(List<Entry> entries, long size) {
    List<Entry> byOffset = entries.stream().sorted(Comparator.comparingLong(Entry::offset)).toList();
    long end = 0;
    for (Entry e : byOffset) {
      if (e.offset() < end) {
        throw new IllegalArgumentException("tensor " + e.name() + " at " + e.offset() + " overlaps the one before it");
      }
      end = e.end();
    }
    if (end > size) {
      throw new IllegalArgumentException("tensors end at byte " + end + ", past the " + size + "-byte payload");
    }
    if (entries.stream().map(Entry::name).distinct().count() != entries.size()) {
      throw new IllegalArgumentException("a tensor name appears twice in the payload layout");
    }
  }

  /** Copies every parameter of {@code model} (CPU or GPU), in the model's dtype, into a new payload. */
  public static WeightPayload of(long version, CausalLm model) {
    return of(version, model.parameters());
  }

  /** Copies named tensors (CPU or GPU; a model's weights, or LoRA adapters), each in its dtype, into a new payload. */
  public static WeightPayload of(long version, Map<String, Tensor> tensors) {
    List<Entry> entries = new ArrayList<>();
    long offset = 0;
    for (Map.Entry<String, Tensor> p : tensors.entrySet()) {
      Tensor t = p.getValue();
      DType dtype = NativeTensors.dtype(t.scalar_type().intern());
      entries.add(new Entry(p.getKey(), dtype.safetensorsName(), Tensors.shape(t), offset));
      offset = align(offset + t.nbytes());
    }
    long total = entries.isEmpty() ? 0 : entries.get(entries.size() - 1).end();
    PayloadBuffer buffer = PayloadBuffer.allocate(total);
    try (PointerScope scope = new PointerScope()) {
      int i = 0;
      for (Tensor t : tensors.values()) {
        Entry e = entries.get(i++);
        Tensor flatBytes = t.contiguous().view(-1).view(ScalarType.Byte); // [nbytes] uint8, same storage
        buffer.tensor().narrow(0, e.offset(), e.byteCount()).copy_(flatBytes);
      }
    }
    return new WeightPayload(version, buffer, entries);
  }

  private static long align(long offset) {
    return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }

  /** The weight version. */
  public long version() {
    return version;
  }

  /** Size of the byte buffer. */
  public long totalBytes() {
    return buffer.size();
  }

  /** The tensors in the buffer, in the publisher's order. */
  public List<Entry> entries() {
    return entries;
  }

  /**
   * The bytes' {@link PayloadDigest}, computed on first use (a full read of the bytes) and remembered: the
   * bytes must not change afterwards. Any thread may call it.
   */
  public String digest() {
    String d = digest;
    if (d == null) {
      d = PayloadDigest.of(buffer);
      digest = d;
    }
    return d;
  }

  /** The bytes (still owned by this payload). */
  public PayloadBuffer buffer() {
    return buffer;
  }

  /**
   * Fresh tensors (copies, not views of the buffer) on {@code device} in {@code dtype}, by name, in layout
   * order. They belong to the caller's {@link PointerScope}.
   */
  public Map<String, Tensor> tensors(DeviceSpec device, ScalarType dtype) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Entry e : entries) {
      out.put(e.name(), view(e).to(device.torchDevice(), dtype, false, true, new MemoryFormatOptional()));
    }
    return out;
  }

  /** A model over {@link #tensors}, checked against {@code config} by {@link CausalLm#create}. */
  public CausalLm toModel(ModelConfig config, DeviceSpec device, ScalarType dtype) {
    try (PointerScope scope = new PointerScope()) {
      return CausalLm.create(config, tensors(device, dtype), device);
    }
  }

  /**
   * Rank {@code tp.rank()}'s slice of the model in this payload (a group of one: {@link #toModel}): each
   * tensor is viewed in the buffer and only this rank's part of it copied to {@code device}, as
   * {@link TensorSlice#plan} assigns it. The ranks of one JVM share the buffer; each reads its own slice.
   */
  public CausalLm toModel(ModelConfig config, DeviceSpec device, ScalarType dtype, TensorParallel tp) {
    if (tp == null || tp.size() == 1) {
      return toModel(config, device, dtype);
    }
    try (PointerScope scope = new PointerScope()) {
      Map<String, TensorSlice> plan = TensorSlice.plan(config, tp, entries.stream().map(Entry::name).toList());
      Map<String, Tensor> out = new LinkedHashMap<>();
      for (Entry e : entries) {
        Tensor full = view(e); // the whole tensor, a view of the buffer
        TensorSlice slice = plan.get(e.name());
        Tensor part = full;
        if (slice != null) {
          part = full.narrow(slice.dim(), slice.start(), slice.length());
          if (slice.padded() > slice.length()) {
            Tensor padded = org.bytedeco.pytorch.global.torch.zeros(slice.localShape(e.shape()),
                org.rlhfnode.runtime.tensor.Tensors.options(full.scalar_type().intern(), DeviceSpec.CPU));
            padded.narrow(slice.dim(), 0, slice.length()).copy_(part);
            part = padded;
          }
        }
        out.put(e.name(), part.to(device.torchDevice(), dtype, false, true, new MemoryFormatOptional()).contiguous());
      }
      return CausalLm.create(config, out, device, tp);
    }
  }

  /** Tensor {@code e} as a view of the buffer in its stored dtype (a copy when its start is not aligned). */
  private Tensor view(Entry e) {
    ScalarType stored = NativeTensors.scalarType(DType.fromSafetensors(e.dtype()));
    Tensor raw = buffer.tensor().narrow(0, e.offset(), e.byteCount()); // [nbytes] uint8 view
    if (e.offset() % DType.fromSafetensors(e.dtype()).byteSize() != 0) {
      raw = raw.clone(); // view(dtype) needs an element-aligned start; a clone starts at 0
    }
    return raw.view(stored).view(e.shape());
  }

  /** Frees the buffer. */
  @Override
  public void close() {
    buffer.close();
  }

  @Override
  public String toString() {
    return "WeightPayload[v" + version + ", " + entries.size() + " tensors, " + buffer.size() + " bytes]";
  }
}
