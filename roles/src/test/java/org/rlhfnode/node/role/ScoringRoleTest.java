package org.rlhfnode.node.role;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.ScoreFailed;
import org.rlhfnode.messages.ScoreReply;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.ScorerCommand;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.RewardScorer;
import org.rlhfnode.runtime.algo.ppo.RewardFunction;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.algo.ppo.ScoringPass;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.ModelSaver;
import org.rlhfnode.runtime.model.RewardHead;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/**
 * The reference and reward roles: lp_ref equals a direct scoring pass; the reward combines a reward
 * model and a rule-based function with the configured weights; bad token ids give a ScoreFailed.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ScoringRoleTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("ScoringRoleTest")
      .withCustomConfig(ConfigFactory.parseString("pekko.actor.provider = local")).build();

  @TempDir
  Path tmp;

  /** Scores a response by its length in characters. */
  public static final class ResponseLength implements RewardFunction {
    @Override
    public double score(String prompt, String response) {
      return response.length();
    }
  }

  private static RolloutRows rows(long badId) {
    return RolloutRows.of(List.of(new long[] {1, 72, 101}, new long[] {1, 72}),
        List.of(new long[] {108, 108, 111}, new long[] {33, badId}), null, new boolean[] {false, true}, 0);
  }

  private ScoreReply ask(ActorRef<ScorerCommand> role, RolloutRows rows) {
    TestProbe<ScoreReply> replies = kit.createTestProbe();
    role.tell(new ScoreRequest(RequestId.of(0, 1, RequestId.Kind.SCORE), 0, WireArrays.rows(rows), replies.getRef()));
    return replies.expectMessageClass(ScoreReply.class, WAIT);
  }

  private Path rewardModel() {
    Path dir = tmp.resolve("rm");
    try (CausalLm rm = RewardHead.ensure(ModelLoader.load(PpoTestSettings.TINY, DeviceSpec.CPU, ScalarType.Float),
        11)) {
      ModelSaver.save(rm, dir, DType.F32, ModelSaver.DEFAULT_SHARD_BYTES);
    }
    return dir;
  }

  @Test
  void referenceLogProbsEqualADirectScoringPass() {
    PpoSettings s = PpoTestSettings.of(tmp, "--temperature", "0.7");
    ScoredExperience reply = (ScoredExperience) ask(kit.spawn(Reference.create(s), "reference"), rows(33));
    assertEquals(Role.REFERENCE, reply.scorer());
    try (CausalLm ref = ModelLoader.load(PpoTestSettings.TINY, DeviceSpec.CPU, ScalarType.Float)) {
      float[] direct = ScoringPass.logProbs(ref, rows(33), 0.7, 8);
      assertArrayEquals(direct, reply.tensors().require(TensorNames.REF_LOG_PROBS).toFloatArray(), 1e-6f);
    }
  }

  @Test
  void rewardCombinesModelsAndFunctionsWithTheirWeights() {
    Path rm = rewardModel();
    PpoSettings s = PpoTestSettings.of(tmp, "--reward_pretrain", rm.toString(), "--reward_functions",
        ResponseLength.class.getName(), "--reward_combine", "weighted", "--reward_weights", "0.5,2",
        "--normalize_reward", "false");
    ScoredExperience reply = (ScoredExperience) ask(kit.spawn(Reward.create(s), "reward-weighted"), rows(33));
    double[] scores = WireArrays.doubles(reply.tensors().require(TensorNames.SCORES));
    try (CausalLm model = ModelLoader.load(rm, DeviceSpec.CPU, ScalarType.Float)) {
      List<long[]> sequences = new ArrayList<>(List.of(new long[] {1, 72, 101, 108, 108, 111},
          new long[] {1, 72, 33, 33}));
      double[] direct = new RewardScorer(model, 8).score(sequences);
      // the byte-level tokenizer decodes ids 108, 108, 111 to "lol"-like 3 characters and 33, 33 to 2
      assertEquals(0.5 * direct[0] + 2 * 3, scores[0], 1e-5);
      assertEquals(0.5 * direct[1] + 2 * 2, scores[1], 1e-5);
    }
  }

  @Test
  void tokenIdsOutsideTheVocabularyAreAScoreFailure() {
    PpoSettings s = PpoTestSettings.of(tmp);
    ScoreReply reply = ask(kit.spawn(Reference.create(s), "reference-bad"), rows(5000));
    assertTrue(reply instanceof ScoreFailed, reply.toString());
    assertTrue(((ScoreFailed) reply).reason().contains("token id 5000"), reply.toString());
  }
}
