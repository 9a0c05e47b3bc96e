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

  @Option(names = "--seed", split = ",", description = "host:port of a node to join; none: start a new cluster.")
  List<String> seeds = new ArrayList<>();

  @Option(names = "--host", description = "This node's address for the others (default 127.0.0.1).")
  String host;

  @Option(names = "--port", description = "This node's port (default 2552; 0 = any free port).")
  Integer port;

  @Unmatched
  List<String> settings = new ArrayList<>();

  @Override
  public Integer call() {
    List<NodeAddress> seedAddresses = NodeAddress.parseAll(seeds, "--seed");
    int defaultPort = roles.equals(List.of("all")) && seedAddresses.isEmpty() ? 0 : NodeAddress.DEFAULT_PORT;
    NodeAddress self = NodeAddress.self(host == null ? NodeAddress.DEFAULT_HOST : host,
        port == null ? defaultPort : port);
    return PpoNode.run(roles, self, seedAddresses, TrainSettings.parse(settings, "node"));
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
