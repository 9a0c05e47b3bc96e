package org.rlhfnode.node.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The command tree and its error policy: bad input of any kind (missing directory, corrupt file,
 * id out of range, unknown flag) prints one {@code error:} line and exits 2; {@code --verbose}
 * adds the stack trace.
 */
@Command(name = "rlhf-node", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
    description = "RLHF and alignment for large language models on the JVM.",
    subcommands = {ForwardCommand.class, GenerateCommand.class, InitModelCommand.class, BenchCommand.class,
        org.rlhfnode.node.cli.train.TrainCommand.class, RejectionSampleCommand.class, NodeCommand.class, PlanCommand.class,
        GpuCheckCommand.class, KeysCommand.class})
public final class Cli implements Runnable {
  /** Exit code for bad input and failed runs. */
  public static final int EXIT_ERROR = 2;

  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
      description = "Print stack traces of errors.")
  boolean verbose;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
  }

  /** Runs the CLI and returns the process exit code. */
  public static int run(String[] args) {
    if (NodeCommand.isNodeMode(args) && (args.length == 0 || !args[0].equals("node"))) {
      String[] withNode = new String[args.length + 1];
      withNode[0] = "node";
      System.arraycopy(args, 0, withNode, 1, args.length);
      args = withNode;
    }
    CommandLine cli = new CommandLine(new Cli());
    org.rlhfnode.node.cli.train.TrainCommand.describeSettings(cli);
    cli.setParameterExceptionHandler((ex, a) -> {
      PrintWriter err = ex.getCommandLine().getErr();
      java.util.List<String> unknown = ex.getCommandLine().getUnmatchedArguments();
      String msg = unknown.isEmpty() ? firstLine(ex.getMessage()) : "unknown option or argument: " + unknown.get(0);
      err.println("error: " + msg);
      err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
      return EXIT_ERROR;
    });
    cli.setExecutionExceptionHandler((ex, commandLine, parsed) -> {
      PrintWriter err = commandLine.getErr();
      err.println("error: " + describe(ex));
      if (isVerbose(parsed)) {
        ex.printStackTrace(err);
      }
      err.flush();
      return EXIT_ERROR;
    });
    return cli.execute(args);
  }

  private static boolean isVerbose(CommandLine.ParseResult parsed) {
    for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
      if (p.hasMatchedOption("--verbose")) {
        return true;
      }
    }
    return false;
  }

  /** One line for an exception: its message, or its type when it has none. */
  static String describe(Throwable ex) {
    Throwable t = ex;
    while ((t.getMessage() == null || t.getMessage().isBlank()) && t.getCause() != null) {
      t = t.getCause();
    }
    String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return firstLine(msg);
  }

  /** The first non-blank line (libtorch messages start with a newline and end with a C++ trace). */
  static String firstLine(String s) {
    for (String line : s.split("\n")) {
      if (!line.isBlank()) {
        return line.strip();
      }
    }
    return s.strip();
  }

  /** Version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Cli.class.getPackage().getImplementationVersion();
      return new String[] {"rlhf-node " + (v == null ? "dev" : v)};
    }
  }
}
