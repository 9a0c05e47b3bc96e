package org.rlhfnode.node.cli.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.algo.RewardScorer;
import org.rlhfnode.runtime.data.ConditionalSft;
import org.rlhfnode.runtime.data.DataOptions;
import org.rlhfnode.runtime.data.DatasetReader;
import org.rlhfnode.runtime.data.ExampleBuilder;
import org.rlhfnode.runtime.data.JsonRecord;
import org.rlhfnode.runtime.data.MixedDataset;
import org.rlhfnode.runtime.data.SftExample;
import org.rlhfnode.runtime.model.CausalLm;
import picocli.CommandLine.Command;

/**
 * {@code train csft}: conditional SFT (algorithms.md §11). Each (prompt, response) record is scored
 * by the reward model(s) of {@code --reward_pretrain} (summed), or read from its {@code reward} key
 * when no reward model is given; scores are z-normalised with {@code --normalize_reward};
 * each prompt becomes {@code "{prompt} <rm_score>: {score:.2f} "}; then plain SFT.
 */
@Command(name = "csft", mixinStandardHelpOptions = true, description = "Conditional SFT on reward-tagged prompts.")
final class CsftCommand extends TrainAlgorithmCommand {
  static final String SCORE_KEY = "reward";

  @Override
  int run(TrainSettings settings, Collectives collectives) {
    try (TrainSession session = new TrainSession(settings, collectives)) {
      DataOptions options = session.dataOptions(true);
      List<List<JsonRecord>> conditioned = new ArrayList<>();
      for (List<JsonRecord> source : DatasetReader.readTrain(options)) {
        conditioned.add(condition(session, options, source));
      }
      List<List<JsonRecord>> eval = new ArrayList<>();
      for (List<JsonRecord> source : DatasetReader.readEval(options)) {
        eval.add(condition(session, options, source));
      }
      ExampleBuilder builder = new ExampleBuilder(options, session.tokenizerView());
      MixedDataset<SftExample> data = MixedDataset.fromRecords(conditioned, eval, options, builder::sft);
      SftCommand.train(session, data, "csft");
    }
    return 0;
  }

  private static List<JsonRecord> condition(TrainSession session, DataOptions options, List<JsonRecord> records) {
    boolean normalize = session.settings.bool("algo.normalize_reward");
    List<Path> rewardDirs = session.settings.models("model.reward_pretrain");
    if (rewardDirs.isEmpty()) {
      return ConditionalSft.rewrite(records, options.inputKey(), SCORE_KEY, normalize);
    }
    ExampleBuilder builder = new ExampleBuilder(options, session.tokenizerView());
    List<long[]> sequences = new ArrayList<>();
    for (JsonRecord r : records) {
      Optional<SftExample> e = builder.sft(r);
      sequences.add(e.orElseThrow(() -> r.error("prompt too long to score within max_len")).ids());
    }
    double[] total = new double[records.size()];
    for (Path dir : rewardDirs) {
      try (CausalLm rm = session.frozen(dir)) {
        double[] s = RewardScorer.forModelDir(rm, dir, session.config.microTrainBatchSize()).score(sequences);
        for (int i = 0; i < total.length; i++) {
          total[i] += s[i];
        }
      }
    }
    return ConditionalSft.rewrite(records, options.inputKey(), total, normalize);
  }
}
