package org.rlhfnode.runtime.tensor;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.Map;

/**
 * Process environment that libtorch's native libraries read once, when they load. Call
 * {@link #prepare()} before the first libtorch class is touched (the CLI does it in {@code Main}).
 *
 * <p>Why: libtorch runs element-wise ops on OpenMP threads and matrix products on OpenBLAS's own
 * threads. With OpenMP's default "active" wait policy its idle workers spin after every parallel
 * region and starve the BLAS threads; on 2 cores that made a decode step of a 110M model 3× and a
 * prefill 5.7× slower (docs/performance.md). A passive wait policy removes the contention. A value
 * the user already set is kept.
 *
 * <p>Also: glibc hands every freed block above its (adaptive) mmap threshold back to the kernel, so
 * each step's large activations are page-faulted in again. Raising the mmap threshold to its 32 MiB
 * maximum and the trim threshold to 1 GiB keeps them in the heap (batch-32 prefill 1.85× faster,
 * half the system time). Skipped when the user set {@code MALLOC_MMAP_THRESHOLD_} or
 * {@code MALLOC_TRIM_THRESHOLD_}.
 *
 * <p>Last, it loads the bundled libtorch through {@link NativeLibraries#load()}, after the variables
 * above are set (libgomp reads {@code OMP_WAIT_POLICY} when it loads) and before any libtorch class
 * can let JavaCPP load it in an order that picks up a system libtorch (see {@link NativeLibraries}).
 */
public final class NativeEnvironment {
  /** Variables set when absent, and their values. */
  public static final Map<String, String> DEFAULTS = Map.of("OMP_WAIT_POLICY", "PASSIVE");

  private static final int M_TRIM_THRESHOLD = -1;
  private static final int M_MMAP_THRESHOLD = -3;
  private static final int MMAP_THRESHOLD_BYTES = 32 << 20; // glibc's maximum on 64-bit
  private static final int TRIM_THRESHOLD_BYTES = 1 << 30;

  private static boolean prepared;

  private NativeEnvironment() {}

  /** libc's setenv/getenv, reached through JNA (already on the classpath through DJL). */
  interface LibC extends Library {
    int setenv(String name, String value, int overwrite);

    int mallopt(int param, int value);
  }

  /**
   * Sets the defaults that are not already set, then loads the bundled native libraries; idempotent;
   * returns false if libc is unreachable (the libraries are loaded all the same).
   */
  public static synchronized boolean prepare() {
    if (prepared) {
      return true;
    }
    prepared = setDefaults();
    NativeLibraries.load();
    return prepared;
  }

  private static boolean setDefaults() {
    try {
      LibC libc = Native.load("c", LibC.class);
      DEFAULTS.forEach((name, value) -> libc.setenv(name, value, 0));
      if (System.getenv("MALLOC_MMAP_THRESHOLD_") == null && System.getenv("MALLOC_TRIM_THRESHOLD_") == null) {
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES);
      }
      return true;
    } catch (UnsatisfiedLinkError e) {
      return false;
    }
  }
}
