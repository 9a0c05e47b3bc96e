package org.rlhfnode.node.cli;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationStats;
import org.rlhfnode.runtime.model.CausalLm;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench generate}: prefill and decode tokens/s per batch size (greedy, EOS ignored, so every
 * row decodes exactly {@code --new-tokens}), and optionally KV-cache decode against recomputing the
 * prefix at every step. Reports the best of {@code --repeats} runs after a warm-up run.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generation throughput.")
final class BenchGenerateCommand implements Callable<Integer> {
  @Mixin ModelOptions modelOptions;
  @Option(names = "--batch", defaultValue = "1,8,32", split = ",") int[] batches;
  @Option(names = "--prompt-len", defaultValue = "64") int promptLen;
  @Option(names = "--new-tokens", defaultValue = "128") int newTokens;
  @Option(names = "--repeats", defaultValue = "2") int repeats;
  @Option(names = "--seed", defaultValue = "0") long seed;
  @Option(names = "--compare-recompute", description = "Also time batch-1 decode without the KV cache.")
  boolean compareRecompute;

  @Override
  public Integer call() {
    try (CausalLm model = modelOptions.load()) {
      GenerationEngine engine = new GenerationEngine(model);
      int vocab = model.config().vocabSize();
      System.out.printf("model %s, %d params, dtype %s, device %s, threads %d%n", modelOptions.model,
          model.config().parameterCount(), model.dtype(), model.device(),
          org.bytedeco.pytorch.global.torch.get_num_threads());
      System.out.printf("%6s %10s %11s %14s %12s %13s%n", "batch", "prompt", "new", "prefill tok/s",
          "decode tok/s", "decode ms/step");
      for (int b : batches) {
        List<GenerationRequest> reqs = BenchPrompts.greedy(b, promptLen, newTokens, vocab, seed);
        GenerationStats s = best(() -> timed(engine, reqs, true));
        System.out.printf("%6d %10d %11d %14.1f %12.1f %13.2f%n", b, promptLen, newTokens,
            s.prefillTokensPerSecond(), s.decodeTokensPerSecond(), 1000 * s.decodeSeconds() / s.decodeSteps());
      }
      if (compareRecompute) {
        List<GenerationRequest> reqs = BenchPrompts.greedy(1, promptLen, newTokens, vocab, seed);
        GenerationStats cached = best(() -> timed(engine, reqs, true));
        GenerationStats recompute = best(() -> timed(engine, reqs, false));
        System.out.printf("decode to %d tokens, batch 1: KV cache %.1f tok/s, recompute %.1f tok/s, speed-up %.1fx%n",
            promptLen + newTokens, cached.decodeTokensPerSecond(), recompute.decodeTokensPerSecond(),
            cached.decodeTokensPerSecond() / recompute.decodeTokensPerSecond());
      }
    }
    return 0;
  }

  private GenerationStats best(java.util.function.Supplier<GenerationStats> run) {
    run.get(); // warm-up: JIT, libtorch kernels, allocator
    GenerationStats[] runs = new GenerationStats[Math.max(1, repeats)];
    for (int i = 0; i < runs.length; i++) {
      runs[i] = run.get();
    }
    return Arrays.stream(runs).max((a, c) -> Double.compare(a.decodeTokensPerSecond(), c.decodeTokensPerSecond()))
        .orElseThrow();
  }

  private static GenerationStats timed(GenerationEngine engine, List<GenerationRequest> reqs, boolean cache) {
    GenerationStats stats = new GenerationStats();
    if (cache) {
      engine.generate(reqs, stats);
    } else {
      engine.generateWithoutCache(reqs, stats);
    }
    return stats;
  }
}
