package org.rlhfnode.node.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.SamplingParams;

/** Seeded random prompts of fixed length for benchmarks (ids avoid the low special ids). */
final class BenchPrompts {
  private BenchPrompts() {}

  static List<GenerationRequest> greedy(int batch, int promptLen, int newTokens, int vocab, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    SamplingParams params = SamplingParams.greedy(newTokens).withStops(null, true);
    List<GenerationRequest> out = new ArrayList<>();
    int low = Math.min(3, vocab - 1);
    for (int b = 0; b < batch; b++) {
      long[] ids = new long[promptLen];
      for (int i = 0; i < promptLen; i++) {
        ids[i] = rnd.nextInt(low, vocab);
      }
      out.add(new GenerationRequest(ids, params));
    }
    return out;
  }
}
