package org.rlhfnode.node.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.Pointer;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.model.CausalLm;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench memory}: calls {@code generate} many times and prints the process RSS as it goes, to
 * show that native memory stays flat (every step's tensors are freed by its scope).
 */
@Command(name = "memory", mixinStandardHelpOptions = true, description = "RSS over many generate calls.")
final class BenchMemoryCommand implements Callable<Integer> {
  @Mixin ModelOptions modelOptions;
  @Option(names = "--calls", defaultValue = "2000") int calls;
  @Option(names = "--batch", defaultValue = "4") int batch;
  @Option(names = "--prompt-len", defaultValue = "16") int promptLen;
  @Option(names = "--new-tokens", defaultValue = "16") int newTokens;

  @Override
  public Integer call() {
    try (CausalLm model = modelOptions.load()) {
      GenerationEngine engine = new GenerationEngine(model);
      List<GenerationRequest> reqs = BenchPrompts.greedy(batch, promptLen, newTokens, model.config().vocabSize(), 0);
      int every = Math.max(1, calls / 10);
      double first = 0;
      for (int i = 1; i <= calls; i++) {
        engine.generate(reqs);
        if (i % every == 0 || i == 1) {
          double rssMb = Pointer.physicalBytes() / 1048576.0;
          first = i == 1 ? rssMb : first;
          System.out.printf("call %6d  rss %8.1f MiB  (%+.1f since call 1)%n", i, rssMb, rssMb - first);
        }
      }
    }
    return 0;
  }
}
