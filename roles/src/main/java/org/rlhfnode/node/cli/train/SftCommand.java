package org.rlhfnode.node.cli.train;

import java.util.Map;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.algo.SftObjective;
import org.rlhfnode.runtime.data.Collator;
import org.rlhfnode.runtime.data.MixedDataset;
import org.rlhfnode.runtime.data.SftExample;
import picocli.CommandLine.Command;

/** {@code train sft}: prompt-masked SFT, multi-turn (every assistant span) or continued pretraining. */
@Command(name = "sft", mixinStandardHelpOptions = true, description = "Supervised fine-tuning.")
final class SftCommand extends TrainAlgorithmCommand {
  @Override
  int run(TrainSettings settings, Collectives collectives) {
    try (TrainSession session = new TrainSession(settings, collectives)) {
      train(session, MixedDataset.sft(session.dataOptions(true), session.tokenizerView()), "sft");
    }
    return 0;
  }

  /** SFT on a prepared dataset (also used by conditional SFT). */
  static void train(TrainSession session, MixedDataset<SftExample> data, String label) {
    Collator collator = Collator.of(session.tokenizerView(), session.dataOptions(true));
    SftObjective objective = new SftObjective(session.policy());
    int micro = session.config.microTrainBatchSize();
    session.run(objective, session.batches(data.trainBatches(micro, session.config.maxEpochs()), collator::collate),
        session.trainable(), data.eval().isEmpty() ? null : () -> Map.of("eval_loss",
            Evaluation.mean(data.evalBatches(micro), b -> objective.evalLoss(collator.collate(b)))),
        label, Map::of);
  }
}
