package org.rlhfnode.node.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.rlhfnode.node.cluster.NodeAddress;
import org.rlhfnode.node.cluster.PpoNode;
import org.rlhfnode.node.settings.TrainSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * Node mode, {@code rlhf-node --role ROLES [--seed host:port] [--host H] [--port P] --config FILE ...}:
 * runs the given PPO roles in this JVM and joins the cluster of the seed (or starts one). Every other
 * option is a run setting, as for {@code train} (see {@code train ppo --help}).
 */
@Command(name = "node", mixinStandardHelpOptions = true,
    description = "Run PPO roles as a cluster node (what `--role ...` at the top level runs).")
public final class NodeCommand implements Callable<Integer> {
  @Option(names = "--role", required = true, split = ",",
      description = "all, or a comma list of supervisor, trainer, critic, rollout, reward, reference.")
  List<String> roles = new ArrayList<>();

  @Option(names = "--seed", split = ",", description = "host:port of a node to join; none: start a new cluster. "
      + "A bare integer (OpenRLHF's --seed 42) is the run's random seed (train.seed) instead.")
  List<String> seeds = new ArrayList<>();

  @Option(names = "--host", description = "This node's address for the others (default 127.0.0.1).")
  String host;

  @Option(names = "--port", description = "This node's port (default 2552; 0 = any free port).")
  Integer port;

  @Option(names = "--secure", description = "Mutual TLS between the nodes with the run's keys (--keys); a node "
      + "without them is refused (rlhf.cluster.secure).")
  boolean secure;

  @Option(names = "--keys", paramLabel = "DIR", description = "The run's keys (ca.crt, tls.crt, tls.key), made "
      + "once per run by `rlhf-node keys --output DIR` (rlhf.cluster.keys).")
  java.nio.file.Path keys;

  @Unmatched
  List<String> settings = new ArrayList<>();

  @Override
  public Integer call() {
    Seeds split = Seeds.of(seeds, settings);
    int defaultPort = roles.equals(List.of("all")) && split.nodes().isEmpty() ? 0 : NodeAddress.DEFAULT_PORT;
    NodeAddress self = NodeAddress.self(host == null ? NodeAddress.DEFAULT_HOST : host,
        port == null ? defaultPort : port);
    return PpoNode.run(roles, self, split.nodes(), TrainSettings.parse(split.settings(), "node"), secure, keys);
  }

  /**
   * The {@code --seed} values split: {@code host:port} ones are nodes to join; a bare integer, as OpenRLHF
   * commands give {@code --seed 42}, is the run's random seed and joins the settings as {@code --train.seed}.
   */
  record Seeds(List<NodeAddress> nodes, List<String> settings) {
    static Seeds of(List<String> seedValues, List<String> settings) {
      List<String> values = seedValues.stream().map(String::trim).toList(); // picocli split the comma lists
      List<String> runSeeds = values.stream().filter(v -> v.matches("\\d+")).toList();
      List<String> all = new ArrayList<>(settings);
      if (!runSeeds.isEmpty()) {
        boolean explicit = settings.stream().anyMatch(a -> a.equals("--train.seed") || a.startsWith("--train.seed="));
        if (runSeeds.size() > 1 || explicit) {
          throw new IllegalArgumentException("--seed " + String.join(", ", runSeeds) + (explicit ? " and --train.seed"
              : "") + ": give the run's random seed once (a bare integer --seed is the run seed; a node to join is "
              + "host:port)");
        }
        all.addAll(List.of("--train.seed", runSeeds.get(0)));
      }
      return new Seeds(NodeAddress.parseAll(values.stream().filter(v -> !v.matches("\\d+")).toList(), "--seed"),
          List.copyOf(all));
    }
  }

  /** Whether {@code args} ask for node mode: a {@code --role} option before any subcommand. */
  public static boolean isNodeMode(String[] args) {
    for (String a : args) {
      if (a.equals("--role") || a.startsWith("--role=")) {
        return true;
      }
    }
    return false;
  }
}
