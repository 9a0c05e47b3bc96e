package org.rlhfnode.runtime.checkpoint;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * Everything needed to put a run's randomness back where it was: the run seed, named counters
 * derived from the step (e.g. how many dropout masks or data shuffles have been drawn, so that a
 * counter-based stream can be re-seeded), and optionally the raw state of a libtorch CPU generator
 * as {@code Generator.get_state()} returns it (the mt19937 state plus the cached normal sample).
 *
 * <p>The generator bytes are opaque; they are only meaningful to the libtorch version that wrote
 * them and are restored with {@link #restoreInto(Generator)}.
 *
 * @param seed the run's {@code --seed}
 * @param counters step-derived counters by name; copied, sorted by name
 * @param generatorState bytes of a CPU generator's state, or null when none was captured; copied
 */
public record RngState(long seed, Map<String, Long> counters, byte[] generatorState) {
  public RngState {
    Objects.requireNonNull(counters, "counters");
    counters.forEach((k, v) -> {
      Objects.requireNonNull(k, "counters: null name");
      Objects.requireNonNull(v, "counters." + k);
    });
    counters = Collections.unmodifiableSortedMap(new TreeMap<>(counters));
    generatorState = generatorState == null ? null : generatorState.clone();
  }

  /** A state with a seed and counters only. */
  public static RngState of(long seed, Map<String, Long> counters) {
    return new RngState(seed, counters, null);
  }

  /** Captures {@code generator}'s current state (a CPU generator) along with the seed and counters. */
  public static RngState capture(long seed, Map<String, Long> counters, Generator generator) {
    try (PointerScope scope = new PointerScope()) {
      Tensor state = generator.get_state().contiguous(); // [n] uint8, opaque
      if (state.scalar_type().intern() != ScalarType.Byte) {
        throw new IllegalStateException("generator state is " + state.scalar_type().intern() + ", expected uint8");
      }
      byte[] bytes = new byte[Math.toIntExact(state.nbytes())];
      NativeTensors.bytes(state, 0, bytes.length).get(bytes);
      return new RngState(seed, counters, bytes);
    }
  }

  /**
   * Sets {@code generator} (a CPU generator) to the captured state.
   *
   * @throws IllegalStateException if no generator state was captured
   */
  public void restoreInto(Generator generator) {
    if (generatorState == null) {
      throw new IllegalStateException("this RNG state holds no generator state (seed " + seed + ")");
    }
    try (PointerScope scope = new PointerScope()) {
      Tensor state = torch.empty(new long[] {generatorState.length},
          Tensors.options(ScalarType.Byte, DeviceSpec.CPU), new MemoryFormatOptional()); // [n] uint8, filled below
      NativeTensors.bytes(state, 0, generatorState.length).put(generatorState);
      generator.set_state(state);
    }
  }

  /** A copy of the generator bytes, or null. */
  @Override
  public byte[] generatorState() {
    return generatorState == null ? null : generatorState.clone();
  }

  /** The counter {@code name}, or {@code fallback} when absent. */
  public long counter(String name, long fallback) {
    Long v = counters.get(name);
    return v == null ? fallback : v;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RngState r && seed == r.seed && counters.equals(r.counters)
        && Arrays.equals(generatorState, r.generatorState);
  }

  @Override
  public int hashCode() {
    return Objects.hash(seed, counters) * 31 + Arrays.hashCode(generatorState);
  }

  @Override
  public String toString() {
    return "RngState[seed=" + seed + ", counters=" + counters + ", generatorState="
        + (generatorState == null ? "none" : generatorState.length + " bytes") + "]";
  }
}
