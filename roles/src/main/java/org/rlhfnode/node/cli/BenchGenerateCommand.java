package org.rlhfnode.node.cli;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationStats;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.TensorParallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench generate}: prefill and decode tokens/s per batch size (greedy, EOS ignored, so every
 * row decodes exactly {@code --new-tokens}), and optionally KV-cache decode against recomputing the
 * prefix at every step. Reports the best of {@code --repeats} runs after a warm-up run. With
 * {@code --tp 1,2} it repeats the table per tensor-parallel degree and adds the share of rank 0's
 * wall time spent inside collectives (all-reduce, all-gather).
 */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generation throughput.")
final class BenchGenerateCommand implements Callable<Integer> {
  @Mixin ModelOptions modelOptions;
  @Option(names = "--batch", defaultValue = "1,8,32", split = ",") int[] batches;
  @Option(names = "--prompt-len", defaultValue = "64") int promptLen;
  @Option(names = "--new-tokens", defaultValue = "128") int newTokens;
  @Option(names = "--repeats", defaultValue = "2") int repeats;
  @Option(names = "--seed", defaultValue = "0") long seed;
  @Option(names = "--samples-per-prompt", defaultValue = "1", description = "Each of --batch prompts is asked for "
      + "this many samples (GRPO's n); with n > 1, also time every row prefilling its prompt alone.")
  int samplesPerPrompt;
  @Option(names = "--compare-recompute", description = "Also time batch-1 decode without the KV cache.")
  boolean compareRecompute;
  @Option(names = "--tp", defaultValue = "1", split = ",",
      description = "Tensor-parallel degrees to measure, e.g. 1,2 (default: ${DEFAULT-VALUE}).")
  int[] tps;

  /** One timed run: the engine's accounting, its wall time and rank 0's time inside collectives. */
  private record Measured(GenerationStats stats, long wallNanos, long collectiveNanos) {
    double collectiveShare() {
      return wallNanos == 0 ? 0 : (double) collectiveNanos / wallNanos;
    }
  }

  @Override
  public Integer call() {
    for (int tp : tps) {
      if (tp < 1) {
        throw new IllegalArgumentException("--tp must be >= 1, got " + tp);
      }
    }
    for (int tp : tps) {
      // rank 0 prints as it goes; the other ranks run the same calls silently
      modelOptions.onRanks(tp, "bench-generate", (model, group) -> measure(model, group, tp));
    }
    return 0;
  }

  private int measure(CausalLm model, TensorParallel group, int tp) {
    boolean print = group.rank() == 0;
    GenerationEngine engine = new GenerationEngine(model);
    int vocab = model.config().vocabSize();
    if (print) {
      System.out.printf("model %s, %d params, dtype %s, device %s, tp %d, threads %d per rank%n", modelOptions.model,
          model.config().parameterCount(), model.dtype(), model.device(), tp,
          org.bytedeco.pytorch.global.torch.get_num_threads());
    }
    if (samplesPerPrompt > 1) {
      return sharedPrefill(model, group, print, vocab);
    }
    if (print) {
      System.out.printf("%4s %6s %10s %11s %14s %12s %13s %12s%n", "tp", "batch", "prompt", "new", "prefill tok/s",
          "decode tok/s", "decode ms/step", "collectives");
    }
    for (int b : batches) {
      List<GenerationRequest> reqs = BenchPrompts.greedy(b, promptLen, newTokens, vocab, seed);
      Measured m = best(() -> timed(engine, reqs, true, group));
      GenerationStats s = m.stats();
      if (print) {
        System.out.printf("%4d %6d %10d %11d %14.1f %12.1f %13.2f %11.1f%%%n", tp, b, promptLen, newTokens,
            s.prefillTokensPerSecond(), s.decodeTokensPerSecond(), 1000 * s.decodeSeconds() / s.decodeSteps(),
            100 * m.collectiveShare());
      }
    }
    if (compareRecompute) {
      List<GenerationRequest> reqs = BenchPrompts.greedy(1, promptLen, newTokens, vocab, seed);
      GenerationStats cached = best(() -> timed(engine, reqs, true, group)).stats();
      GenerationStats recompute = best(() -> timed(engine, reqs, false, group)).stats();
      if (print) {
        System.out.printf("decode to %d tokens, batch 1: KV cache %.1f tok/s, recompute %.1f tok/s, speed-up %.1fx%n",
            promptLen + newTokens, cached.decodeTokensPerSecond(), recompute.decodeTokensPerSecond(),
            cached.decodeTokensPerSecond() / recompute.decodeTokensPerSecond());
      }
    }
    return 0;
  }

  /** b prompts × n samples: generation time with the prompt prefilled once per prompt vs once per row. */
  private int sharedPrefill(CausalLm model, TensorParallel group, boolean print, int vocab) {
    if (print) {
      System.out.printf("%6s %3s %7s %5s %16s %16s %8s%n", "prompts", "n", "prompt", "new", "shared prefill s",
          "own prefill s", "ratio");
    }
    for (int b : batches) {
      List<GenerationRequest> reqs = new java.util.ArrayList<>();
      for (GenerationRequest r : BenchPrompts.greedy(b, promptLen, newTokens, vocab, seed)) {
        for (int i = 0; i < samplesPerPrompt; i++) {
          reqs.add(r);
        }
      }
      Measured shared = best(() -> timed(new GenerationEngine(model, true), reqs, true, group));
      Measured own = best(() -> timed(new GenerationEngine(model, false), reqs, true, group));
      if (print) {
        System.out.printf("%6d %3d %7d %5d %16.3f %16.3f %7.2fx%n", b, samplesPerPrompt, promptLen, newTokens,
            shared.wallNanos() / 1e9, own.wallNanos() / 1e9, (double) shared.wallNanos() / own.wallNanos());
      }
    }
    return 0;
  }

  private Measured best(java.util.function.Supplier<Measured> run) {
    run.get(); // warm-up: JIT, libtorch kernels, allocator
    Measured[] runs = new Measured[Math.max(1, repeats)];
    for (int i = 0; i < runs.length; i++) {
      runs[i] = run.get();
    }
    return Arrays.stream(runs)
        .max((a, c) -> Double.compare(a.stats().decodeTokensPerSecond(), c.stats().decodeTokensPerSecond()))
        .orElseThrow();
  }

  private static Measured timed(GenerationEngine engine, List<GenerationRequest> reqs, boolean cache,
      TensorParallel group) {
    GenerationStats stats = new GenerationStats();
    group.resetCollectiveTime();
    long start = System.nanoTime();
    if (cache) {
      engine.generate(reqs, stats);
    } else {
      engine.generateWithoutCache(reqs, stats);
    }
    return new Measured(stats, System.nanoTime() - start, group.collectiveNanos());
  }
}
