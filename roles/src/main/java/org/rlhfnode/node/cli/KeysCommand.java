package org.rlhfnode.node.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.rlhfnode.node.cluster.RunKeys;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keys --output DIR}: a run's credentials for the cluster's mutual TLS ({@link RunKeys}); every node
 * of the run then starts with {@code --secure --keys DIR}.
 */
@Command(name = "keys", mixinStandardHelpOptions = true,
    description = "Make a run's CA, node key and certificate (PEM, owner-only) for --secure --keys DIR.")
final class KeysCommand implements Callable<Integer> {
  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where to write ca.crt, tls.crt, "
      + "tls.key (created; existing keys are never overwritten).")
  Path output;

  @Option(names = "--run", defaultValue = "run", description = "The run's name in the certificates (letters, digits, "
      + "'.', '-'; default: ${DEFAULT-VALUE}).")
  String run;

  @Option(names = "--days", defaultValue = "30", description = "Validity in days (default: ${DEFAULT-VALUE}).")
  int days;

  @Override
  public Integer call() {
    if (days < 1) {
      throw new IllegalArgumentException("--days must be >= 1, got " + days);
    }
    RunKeys.create(output, run, Duration.ofDays(days));
    System.out.println("keys of run '" + run + "' in " + output.toAbsolutePath() + " (" + RunKeys.CA_CERT + ", "
        + RunKeys.CERT + ", " + RunKeys.KEY + "); start every node with --secure --keys " + output);
    return 0;
  }
}
