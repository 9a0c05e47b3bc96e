package org.rlhfnode.node.cli.train;

import java.nio.file.Path;
import java.util.Map;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.algo.DpoObjective;
import org.rlhfnode.runtime.algo.PreferenceLoss;
import org.rlhfnode.runtime.algo.ReferenceScores;
import org.rlhfnode.runtime.data.Collator;
import org.rlhfnode.runtime.data.MixedDataset;
import org.rlhfnode.runtime.data.PairExample;
import org.rlhfnode.runtime.model.CausalLm;
import picocli.CommandLine.Command;

/**
 * {@code train dpo}: DPO, cDPO ({@code --label_smoothing}) or IPO ({@code --ipo}) against a frozen
 * reference ({@code --ref_pretrain}, default the starting model), optional NLL term
 * ({@code --nll_loss_coef}). With {@code --precompute_ref_log_probs} the reference scores every pair
 * once before training and is freed, so only the policy stays in memory.
 */
@Command(name = "dpo", mixinStandardHelpOptions = true, description = "Direct preference optimisation (DPO/cDPO/IPO).")
final class DpoCommand extends TrainAlgorithmCommand {
  @Override
  int run(TrainSettings settings, Collectives collectives) {
    try (TrainSession session = new TrainSession(settings, collectives)) {
      MixedDataset<PairExample> data = MixedDataset.pairs(session.dataOptions(false), session.tokenizerView());
      Collator collator = Collator.of(session.tokenizerView(), session.dataOptions(false));
      int micro = session.config.microTrainBatchSize();
      if (settings.bool("algo.precompute_ref_log_probs")) {
        ReferenceScores train;
        ReferenceScores eval;
        try (CausalLm reference = session.frozen(referenceDir(session))) {
          train = ReferenceScores.compute(reference, collator, data.train(), micro);
          eval = ReferenceScores.compute(reference, collator, data.eval(), micro);
        }
        train(session, data, collator, new DpoObjective(session.policy(), null, options(settings)), train, eval);
      } else {
        try (CausalLm reference = session.frozen(referenceDir(session))) {
          train(session, data, collator, new DpoObjective(session.policy(), reference, options(settings)), null, null);
        }
      }
    }
    return 0;
  }

  private static void train(TrainSession session, MixedDataset<PairExample> data, Collator collator,
      DpoObjective objective, ReferenceScores train, ReferenceScores eval) {
    int micro = session.config.microTrainBatchSize();
    session.run(objective, session.batches(data.trainBatches(micro, session.config.maxEpochs()),
        b -> new DpoObjective.Pairs(collator.collatePairs(b), train == null ? null : train.lookup(b))),
        session.trainable(),
        data.eval().isEmpty() ? null : () -> Map.of("eval_reward_accuracy", Evaluation.mean(data.evalBatches(micro),
            b -> objective.forward(new DpoObjective.Pairs(collator.collatePairs(b), eval == null ? null : eval.lookup(b)),
                b.size()).metrics().get("reward_accuracy"))),
        "dpo", Map::of);
  }

  static Path referenceDir(TrainSession session) {
    Path ref = session.settings.optModel("model.ref_pretrain");
    return ref != null ? ref : session.pretrain;
  }

  private static PreferenceLoss.Options options(TrainSettings s) {
    double beta = s.number("algo.beta");
    PreferenceLoss.Options o = s.bool("algo.ipo") ? PreferenceLoss.Options.ipo(beta)
        : PreferenceLoss.Options.cdpo(beta, s.number("algo.label_smoothing"));
    return o.withNll(s.number("algo.nll_loss_coef"));
  }
}
