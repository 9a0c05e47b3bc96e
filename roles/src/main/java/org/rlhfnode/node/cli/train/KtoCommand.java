package org.rlhfnode.node.cli.train;

import java.util.Map;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.algo.KtoLoss;
import org.rlhfnode.runtime.algo.KtoObjective;
import org.rlhfnode.runtime.data.Collator;
import org.rlhfnode.runtime.data.KtoExample;
import org.rlhfnode.runtime.data.MixedDataset;
import org.rlhfnode.runtime.model.CausalLm;
import picocli.CommandLine.Command;

/**
 * {@code train kto}: KTO on unpaired desirable/undesirable examples ({@code --label_key}) against a
 * frozen reference, with {@code --desirable_loss_weight} and {@code --undesirable_loss_weight}.
 */
@Command(name = "kto", mixinStandardHelpOptions = true, description = "Kahneman-Tversky optimisation.")
final class KtoCommand extends TrainAlgorithmCommand {
  @Override
  int run(TrainSettings settings, Collectives collectives) {
    try (TrainSession session = new TrainSession(settings, collectives);
        CausalLm reference = session.frozen(DpoCommand.referenceDir(session))) {
      MixedDataset<KtoExample> data = MixedDataset.kto(session.dataOptions(true), session.tokenizerView());
      Collator collator = Collator.of(session.tokenizerView(), session.dataOptions(true));
      KtoLoss.Options options = new KtoLoss.Options(settings.number("algo.beta"),
          settings.number("algo.desirable_loss_weight"), settings.number("algo.undesirable_loss_weight"));
      KtoObjective objective = new KtoObjective(session.policy(), reference, options);
      int micro = session.config.microTrainBatchSize();
      session.run(objective, session.batches(data.trainBatches(micro, session.config.maxEpochs()),
          collator::collateKto), session.trainable(),
          data.eval().isEmpty() ? null : () -> Map.of("eval_kto_margin", Evaluation.mean(data.evalBatches(micro),
              b -> margin(objective.forward(collator.collateKto(b), b.size()).metrics()))),
          "kto", Map::of);
    }
    return 0;
  }

  /** Desirable minus undesirable implicit reward of a batch (0 when one side is missing). */
  private static double margin(Map<String, Double> m) {
    double d = m.get("chosen_reward") - m.get("rejected_reward");
    return Double.isNaN(d) ? 0 : d;
  }
}
