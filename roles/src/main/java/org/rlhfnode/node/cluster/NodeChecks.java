package org.rlhfnode.node.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.rlhfnode.messages.Role;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.runtime.algo.ppo.RewardFunction;
import org.rlhfnode.runtime.hub.HubCache;
import org.rlhfnode.runtime.hub.HubModels;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.io.CheckpointWeights;
import org.rlhfnode.runtime.model.ModelConfig;

/**
 * What a node checks before it joins the cluster, so that bad input fails at once with one line naming
 * the flag and the file (exit code 2) instead of surfacing as retries minutes later: every model
 * directory its roles will load ({@code config.json} parsed, safetensors headers read; the weights
 * themselves are checked when they load; a local path or {@code org/name} from the HuggingFace hub
 * cache, a name found in neither being an error saying where it looked), every reward function class,
 * and, on the supervisor's node, that the checkpoint directory can be written.
 */
final class NodeChecks {
  private NodeChecks() {}

  /**
   * @throws IllegalArgumentException one line naming the flag and what is wrong
   */
  static void check(List<Role> roles, PpoSettings s) {
    // the reward models before the critic, which starts from the first of them unless --critic_pretrain says
    for (Role r : List.of(Role.SUPERVISOR, Role.POLICY, Role.ROLLOUT, Role.REFERENCE, Role.REWARD, Role.CRITIC)) {
      if (!roles.contains(r)) {
        continue;
      }
      switch (r) {
        case POLICY, ROLLOUT -> model("--pretrain", s.models().pretrain());
        case CRITIC -> {
          if (s.needsCritic()) {
            model("--critic_pretrain", s.models().criticPretrain());
          }
        }
        case REFERENCE -> {
          if (s.needsReference()) {
            model("--ref_pretrain", s.models().refPretrain());
          }
        }
        case REWARD -> {
          s.models().rewardPretrain().forEach(dir -> model("--reward_pretrain", dir));
          s.models().rewardFunctions().forEach(RewardFunction::load); // errors name --reward_functions
        }
        case SUPERVISOR -> writable("--ckpt_path", s.resilience().ckptPath());
        default -> throw new IllegalStateException("unknown role " + r);
      }
    }
  }

  private static void model(String flag, Path dir) {
    if (!Files.exists(dir)) { // PpoSettings kept the name as given: neither a local path nor in the hub cache
      throw new IllegalArgumentException(HubModels.notFound(flag, dir.toString(), HubCache.fromEnvironment()));
    }
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException(flag + " " + dir + ": not a model directory");
    }
    try {
      ModelConfig.load(dir);
      CheckpointWeights.open(dir).close();
    } catch (CheckpointFormatException | IllegalArgumentException e) {
      throw new IllegalArgumentException(flag + " " + dir + ": " + e.getMessage(), e);
    }
  }

  private static void writable(String flag, Path dir) {
    try {
      org.rlhfnode.runtime.io.OwnerOnly.createDirectories(dir); // what the run writes there stays owner-only
      Path probe = Files.createTempFile(dir, ".write-check-", "");
      Files.delete(probe);
    } catch (IOException e) {
      throw new IllegalArgumentException(flag + " " + dir + ": cannot write there (" + e.getMessage() + ")", e);
    }
  }
}
