package org.rlhfnode.node.cli.train;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.transport.RankGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * Base of the {@code train <algorithm>} commands: their options are the HOCON settings of
 * {@code reference.conf} (listed by {@code --help}), parsed by {@link TrainSettings}.
 */
abstract class TrainAlgorithmCommand implements Callable<Integer> {
  @Unmatched
  List<String> args = new ArrayList<>();

  /** Bound on forming a rank group and on each collective (a checkpoint or an evaluation on rank 0 included). */
  static final Duration COLLECTIVE_TIMEOUT = Duration.ofMinutes(30);

  @Override
  public Integer call() {
    TrainSettings settings = TrainSettings.parse(args, "train " + getClass().getAnnotation(Command.class).name());
    if (!dataParallel()) {
      return run(settings, Collectives.single());
    }
    int ranks = settings.integer("train.ranks");
    if (ranks < 1) {
      throw new IllegalArgumentException("--ranks must be >= 1, got " + ranks);
    }
    if (ranks > 1 && DeviceSpec.parse(settings.string("model.device")).cuda()) {
      throw new IllegalArgumentException("--ranks " + ranks + " on CUDA: multi-rank training is proved on CPU "
          + "(Gloo) only in this version; run examples/gpu-check.sh for the NCCL path");
    }
    List<Integer> codes = RankGroup.run(ranks, COLLECTIVE_TIMEOUT, "train", c -> run(settings, c));
    return codes.get(0);
  }

  /** Whether the command runs {@code --ranks} data-parallel ranks (each calling {@link #run}). */
  boolean dataParallel() {
    return true;
  }

  /** Trains as rank {@code collectives.rank()} and returns the exit code. */
  abstract int run(TrainSettings settings, Collectives collectives);
}
