package org.rlhfnode.node.cli.train;

import java.util.List;
import org.rlhfnode.node.cluster.NodeAddress;
import org.rlhfnode.node.cluster.PpoNode;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.dist.Collectives;
import picocli.CommandLine.Command;

/**
 * {@code train ppo}: PPO and its relatives (GAE, REINFORCE++, GRPO, RLOO, Dr.GRPO) with every role in
 * this JVM — the same as {@code --role all}.
 */
@Command(name = "ppo", mixinStandardHelpOptions = true,
    description = "PPO / GRPO / RLOO / REINFORCE++ with every role in one JVM (= --role all).")
final class PpoCommand extends TrainAlgorithmCommand {
  @Override
  boolean dataParallel() {
    return false; // PpoSettings refuses --ranks > 1
  }

  @Override
  int run(TrainSettings settings, Collectives collectives) {
    return PpoNode.run(List.of("all"), NodeAddress.self(NodeAddress.DEFAULT_HOST, 0), List.of(), settings);
  }
}
