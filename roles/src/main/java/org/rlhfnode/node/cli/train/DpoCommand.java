package org.rlhfnode.node.cli.train;

import java.nio.file.Path;
import java.util.Map;
import org.rlhfnode.runtime.algo.DpoObjective;
import org.rlhfnode.runtime.algo.PreferenceLoss;
import org.rlhfnode.runtime.data.Collator;
import org.rlhfnode.runtime.data.MixedDataset;
import org.rlhfnode.runtime.data.PairExample;
import org.rlhfnode.runtime.model.CausalLm;
import picocli.CommandLine.Command;

/**
 * {@code train dpo}: DPO, cDPO ({@code --label_smoothing}) or IPO ({@code --ipo}) against a frozen
 * reference ({@code --ref_pretrain}, default the starting model), optional NLL term
 * ({@code --nll_loss_coef}).
 */
@Command(name = "dpo", mixinStandardHelpOptions = true, description = "Direct preference optimisation (DPO/cDPO/IPO).")
final class DpoCommand extends TrainAlgorithmCommand {
  @Override
  int run(TrainSettings settings) {
    try (TrainSession session = new TrainSession(settings);
        CausalLm reference = session.frozen(referenceDir(session))) {
      MixedDataset<PairExample> data = MixedDataset.pairs(session.dataOptions(false), session.tokenizerView());
      Collator collator = Collator.of(session.tokenizerView(), session.dataOptions(false));
      DpoObjective objective = new DpoObjective(session.policy(), reference, options(settings));
      int micro = session.config.microTrainBatchSize();
      session.run(objective, session.batches(data.trainBatches(micro, session.config.maxEpochs()),
          collator::collatePairs), session.trainable(),
          data.eval().isEmpty() ? null : () -> Map.of("eval_reward_accuracy", Evaluation.mean(data.evalBatches(micro),
              b -> objective.forward(collator.collatePairs(b), b.size()).metrics().get("reward_accuracy"))),
          "dpo", Map::of);
    }
    return 0;
  }

  static Path referenceDir(TrainSession session) {
    Path ref = session.settings.optPath("model.ref_pretrain");
    return ref != null ? ref : session.pretrain;
  }

  private static PreferenceLoss.Options options(TrainSettings s) {
    double beta = s.number("algo.beta");
    PreferenceLoss.Options o = s.bool("algo.ipo") ? PreferenceLoss.Options.ipo(beta)
        : PreferenceLoss.Options.cdpo(beta, s.number("algo.label_smoothing"));
    return o.withNll(s.number("algo.nll_loss_coef"));
  }
}
