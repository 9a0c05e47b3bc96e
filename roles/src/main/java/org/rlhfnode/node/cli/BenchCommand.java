package org.rlhfnode.node.cli;

import picocli.CommandLine.Command;

/** {@code bench}: performance measurements whose numbers go to docs/performance.md. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
    subcommands = {BenchGenerateCommand.class, BenchMemoryCommand.class, BenchTrainCommand.class,
        BenchWeightSyncCommand.class})
final class BenchCommand implements Runnable {
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "bench needs a subcommand: generate, train, memory or weight-sync");
  }
}
