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
 */
public final class NativeEnvironment {
  /** Variables set when absent, and their values. */
  public static final Map<String, String> DEFAULTS = Map.of("OMP_WAIT_POLICY", "PASSIVE");

  private static boolean prepared;

  private NativeEnvironment() {}

  /** libc's setenv/getenv, reached through JNA (already on the classpath through DJL). */
  interface LibC extends Library {
    int setenv(String name, String value, int overwrite);

    String getenv(String name);
  }

  /** Sets the defaults that are not already set; idempotent; returns false if libc is unreachable. */
  public static synchronized boolean prepare() {
    if (prepared) {
      return true;
    }
    try {
      LibC libc = Native.load("c", LibC.class);
      DEFAULTS.forEach((name, value) -> libc.setenv(name, value, 0));
      prepared = true;
      return true;
    } catch (UnsatisfiedLinkError e) {
      return false;
    }
  }

  /** The value the native side sees for {@code name} (null if unset). */
  public static String nativeValue(String name) {
    return Native.load("c", LibC.class).getenv(name);
  }
}
