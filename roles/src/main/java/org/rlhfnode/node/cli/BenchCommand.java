package org.rlhfnode.node.cli;

import picocli.CommandLine.Command;

/** {@code bench}: performance measurements whose numbers go to docs/performance.md. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
    subcommands = {BenchGenerateCommand.class, BenchMemoryCommand.class, BenchTrainCommand.class})
final class BenchCommand implements Runnable {
  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
        "bench needs a subcommand: generate, train or memory");
  }
}
