package org.rlhfnode.runtime.data;

/**
 * Independent random streams from one user seed: each use (mixing, eval split, shuffling) and each
 * index (source, epoch) gets its own seed, so changing one never shifts another.
 */
final class Seeds {
  static final long MIX = 0x6d69784c;
  static final long SPLIT = 0x73706c74;
  static final long SHUFFLE = 0x73686666;

  private Seeds() {}

  /** A well-mixed seed for ({@code seed}, {@code purpose}, {@code index}) (SplitMix64 finaliser). */
  static long derive(long seed, long purpose, long index) {
    long z = seed + 0x9E3779B97F4A7C15L * (purpose + 1) + 0xBF58476D1CE4E5B9L * (index + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
