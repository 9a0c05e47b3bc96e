package org.rlhfnode.runtime.tensor;

import org.bytedeco.pytorch.global.torch;

/** How many CPU threads a process's libtorch and OpenBLAS use ({@code --threads}). */
public final class CpuThreads {
  private CpuThreads() {}

  /** Sets libtorch's intra-op and OpenBLAS's thread counts (0 = all available cores). */
  public static void configure(int threads) {
    if (threads < 0) {
      throw new IllegalArgumentException("--threads must be >= 0, got " + threads);
    }
    int n = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    torch.set_num_threads(n);
    // libtorch's matrix products run in OpenBLAS, whose own thread pool ignores the line above: left at all
    // cores, processes sharing a machine (one per role) oversubscribe it and spin against each other
    org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(n);
  }
}
