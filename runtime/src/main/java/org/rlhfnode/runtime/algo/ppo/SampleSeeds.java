package org.rlhfnode.runtime.algo.ppo;

/**
 * The sampling seed of every rollout sample, a function of the run seed, the iteration and the sample's
 * place alone: sample k of prompt i of iteration t gets {@code base(seed, t) + i·n + k} (n samples per
 * prompt). So a rollout split over any number of engines, resent to another engine, or generated again
 * after a restore samples exactly the same tokens, and a run needs no generator state in its checkpoints.
 * A rollout request carries the seed of its first sample ({@link #firstOfChunk}); the engine adds the
 * sample's index within the request.
 */
public final class SampleSeeds {
  private SampleSeeds() {}

  /** The seed of sample 0 of prompt 0 of iteration {@code iteration}. */
  public static long base(long runSeed, int iteration) {
    return runSeed * 1_000_003L + (long) iteration * 65_537L;
  }

  /** The seed of the first sample of a request starting at prompt {@code firstPrompt}, n samples per prompt. */
  public static long firstOfChunk(long base, int firstPrompt, int samplesPerPrompt) {
    return base + (long) firstPrompt * samplesPerPrompt;
  }
}
