package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.train.AdamW;

/** The updater's bookkeeping: step counts, optional loss terms, frozen actor, option checks. */
class PpoUpdaterTest {
  private static final String PROBE = "model.embed_tokens.weight";

  private static Map<String, Tensor> trainable(CausalLm model) {
    Map<String, Tensor> params = model.parameters();
    params.values().forEach(t -> t.requires_grad_(true));
    return params;
  }

  @Test
  void firstUpdateOnPolicyHasNoClippingAndZeroPolicyKl() {
    try (CausalLm actor = PpoTestModels.policy(3, 0.3); CausalLm ref = PpoTestModels.policy(4, 0.3)) {
      ExperienceMaker maker = new ExperienceMaker(ExperienceMaker.Options.defaults(AdvantageEstimator.RLOO, 2, 5),
          actor, ref, null, PpoTestModels.targetShare(), KlController.fixed(0.01));
      Experience e = maker.make(PpoTestModels.prompts(), 5, 0);
      Map<String, Tensor> params = trainable(actor);
      try (AdamW opt = new AdamW(params, AdamW.Options.DEFAULTS)) {
        PpoUpdater.Options o = PpoUpdater.Options.defaults(8, 8, 1e-3, 0).withEntropy(0.0)
            .withKlLoss(0.1, KlEstimator.K3);
        PpoUpdater.Metrics m = new PpoUpdater(o, PpoUpdater.Trainee.local(actor, params, opt, 1.0), null).update(e);
        assertEquals(1, m.optimizerSteps());
        assertEquals(0.0, m.clipFraction(), 1e-12); // ρ = 1 on the first step: nothing clips
        assertEquals(0.0, m.policyKl(), 1e-5);
        assertTrue(m.entropy() > 0 && m.entropy() <= Math.log(32) + 1e-4, "entropy " + m.entropy());
        assertTrue(m.klLoss() > 0, "KL loss between two different random models");
        assertTrue(Double.isNaN(m.valueLoss()));
      }
    }
  }

  @Test
  void frozenActorKeepsItsWeightsWhileTheCriticLearns() {
    try (CausalLm actor = PpoTestModels.policy(3, 0.3); CausalLm critic = PpoTestModels.critic(5)) {
      ExperienceMaker maker = new ExperienceMaker(ExperienceMaker.Options.defaults(AdvantageEstimator.GAE, 1, 5),
          actor, null, critic, PpoTestModels.targetShare(), KlController.fixed(0.0));
      Experience e = maker.make(PpoTestModels.prompts(), 6, 0);
      Map<String, Tensor> actorParams = trainable(actor);
      Map<String, Tensor> criticParams = trainable(critic);
      float[] actorBefore = Tensors.toFloats(actorParams.get(PROBE));
      float[] criticBefore = Tensors.toFloats(criticParams.get(PROBE));
      try (AdamW actorOpt = new AdamW(actorParams, AdamW.Options.DEFAULTS);
          AdamW criticOpt = new AdamW(criticParams, AdamW.Options.DEFAULTS)) {
        PpoUpdater updater = new PpoUpdater(PpoUpdater.Options.defaults(2, 1, 1e-3, 1e-3).withEpochs(3),
            PpoUpdater.Trainee.local(actor, actorParams, actorOpt, 1.0), PpoUpdater.Trainee.local(critic, criticParams, criticOpt, 1.0));
        PpoUpdater.Metrics m = updater.update(e, false);
        assertEquals(6, m.optimizerSteps()); // 4 samples / 2 per step × 3 epochs
        assertTrue(Double.isNaN(m.policyLoss()));
        assertTrue(m.valueLoss() >= 0);
      }
      assertArrayEquals(actorBefore, Tensors.toFloats(actorParams.get(PROBE)));
      assertFalse(Arrays.equals(criticBefore, Tensors.toFloats(criticParams.get(PROBE))));
    }
  }

  @Test
  void rejectsTrainBatchThatIsNotAMultipleOfTheMicroBatch() {
    assertThrows(IllegalArgumentException.class, () -> PpoUpdater.Options.defaults(6, 4, 1e-3, 1e-3));
  }
}
