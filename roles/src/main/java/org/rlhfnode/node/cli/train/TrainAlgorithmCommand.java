package org.rlhfnode.node.cli.train;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.rlhfnode.node.settings.TrainSettings;
import picocli.CommandLine.Unmatched;

/**
 * Base of the {@code train <algorithm>} commands: their options are the HOCON settings of
 * {@code reference.conf} (listed by {@code --help}), parsed by {@link TrainSettings}.
 */
abstract class TrainAlgorithmCommand implements Callable<Integer> {
  @Unmatched
  List<String> args = new ArrayList<>();

  @Override
  public Integer call() {
    return run(TrainSettings.parse(args));
  }

  /** Trains and returns the exit code. */
  abstract int run(TrainSettings settings);
}
