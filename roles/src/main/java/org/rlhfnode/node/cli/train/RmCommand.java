package org.rlhfnode.node.cli.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.algo.RewardModelLoss;
import org.rlhfnode.runtime.algo.RewardObjective;
import org.rlhfnode.runtime.data.BatchIterator;
import org.rlhfnode.runtime.data.Collator;
import org.rlhfnode.runtime.data.MixedDataset;
import org.rlhfnode.runtime.data.PairExample;
import org.rlhfnode.runtime.model.ParameterLayout;
import org.rlhfnode.runtime.model.RewardHead;
import org.rlhfnode.runtime.tensor.Tensors;
import picocli.CommandLine.Command;

/**
 * {@code train rm}: a reward model (score head, pairwise loss with optional margin). After training
 * the chosen and rejected scores of the eval set (the train set when there is none) give the
 * {@code mean}/{@code std} written into the saved config.json.
 */
@Command(name = "rm", mixinStandardHelpOptions = true, description = "Reward-model training.")
final class RmCommand extends TrainAlgorithmCommand {
  @Override
  int run(TrainSettings settings, Collectives collectives) {
    try (TrainSession session = new TrainSession(settings, collectives)) {
      session.replacePolicy(RewardHead.ensure(session.policy(), session.config.seed()));
      MixedDataset<PairExample> data = MixedDataset.pairs(session.dataOptions(false), session.tokenizerView());
      Collator collator = Collator.of(session.tokenizerView(), session.dataOptions(false));
      RewardModelLoss.Kind kind = settings.string("algo.loss").equalsIgnoreCase("logexp")
          ? RewardModelLoss.Kind.LOG_EXP : RewardModelLoss.Kind.SIGMOID;
      RewardObjective objective = new RewardObjective(session.policy(), kind, settings.bool("algo.margin_loss"));
      Map<String, Tensor> trainable = new LinkedHashMap<>(session.trainable());
      Tensor score = session.policy().parameters().get(ParameterLayout.SCORE);
      score.requires_grad_(true);
      trainable.put(ParameterLayout.SCORE, score);
      int micro = session.config.microTrainBatchSize();
      List<PairExample> statsSet = data.eval().isEmpty() ? data.train() : data.eval();
      session.run(objective, session.batches(data.trainBatches(micro, session.config.maxEpochs()),
          collator::collatePairs), trainable,
          data.eval().isEmpty() ? null : () -> evaluate(objective, collator, data.evalBatches(micro)), "rm",
          () -> statistics(objective, collator, statsSet, micro));
    }
    return 0;
  }

  private static Map<String, Double> evaluate(RewardObjective objective, Collator collator,
      BatchIterator<PairExample> batches) {
    double accuracy = Evaluation.mean(batches, b -> {
      Collator.PairBatch pairs = collator.collatePairs(b);
      return objective.forward(pairs, pairs.pairs()).metrics().get("reward_accuracy");
    });
    return Map.of("eval_reward_accuracy", accuracy);
  }

  /** Mean and sample std of every chosen and rejected score (algorithms.md §4). */
  private static Map<String, Object> statistics(RewardObjective objective, Collator collator,
      List<PairExample> examples, int micro) {
    List<Double> scores = new ArrayList<>();
    try (NoGradGuard guard = new NoGradGuard()) {
      for (int i = 0; i < examples.size(); i += micro) {
        try (PointerScope scope = new PointerScope()) {
          Collator.PairBatch pairs = collator.collatePairs(examples.subList(i, Math.min(examples.size(), i + micro)));
          for (float r : Tensors.toFloats(objective.scores(pairs))) {
            scores.add((double) r);
          }
        }
      }
    }
    RewardModelLoss.Normalisation n = RewardModelLoss.Normalisation.of(scores.stream().mapToDouble(d -> d).toArray());
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put(RewardHead.MEAN, n.mean());
    extra.put(RewardHead.STD, n.std());
    return extra;
  }
}
