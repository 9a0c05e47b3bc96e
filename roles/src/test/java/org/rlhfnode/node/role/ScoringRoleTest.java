package org.rlhfnode.node.role;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
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
import org.rlhfnode.runtime.tokenizer.HfTokenizer;

/**
 * The reference and reward roles: lp_ref equals a direct scoring pass; the reward combines a reward
 * model, a rule-based function reading each row's label and a remote endpoint (a real local HTTP server
 * speaking OpenRLHF's protocol) with the configured weights; bad token ids and an endpoint that keeps
 * failing give a ScoreFailed naming the cause.
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

  /** Scores a response by the length of its prompt's label. */
  public static final class LabelLength implements RewardFunction {
    @Override
    public double score(String prompt, String response) {
      throw new AssertionError("the reward role passes the label");
    }

    @Override
    public double score(String prompt, String response, String label) {
      return label.length();
    }
  }

  private static RolloutRows rows(long badId) {
    return RolloutRows.of(List.of(new long[] {1, 72, 101}, new long[] {1, 72}),
        List.of(new long[] {108, 108, 111}, new long[] {33, badId}), null, new boolean[] {false, true}, 0);
  }

  private ScoreReply ask(ActorRef<ScorerCommand> role, RolloutRows rows) {
    return ask(role, rows, List.of());
  }

  private ScoreReply ask(ActorRef<ScorerCommand> role, RolloutRows rows, List<String> labels) {
    TestProbe<ScoreReply> replies = kit.createTestProbe();
    role.tell(new ScoreRequest(RequestId.of(0, 1, RequestId.Kind.SCORE), 0, WireArrays.rows(rows), labels,
        replies.getRef()));
    return replies.expectMessageClass(ScoreReply.class, WAIT);
  }

  /** A local reward endpoint answering {@code status} and {@code body}; the request bodies go to {@code seen}. */
  private static HttpServer endpoint(int status, String body, List<JsonNode> seen) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/get_reward", exchange -> {
      seen.add(new ObjectMapper().readTree(exchange.getRequestBody()));
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, b.length);
      exchange.getResponseBody().write(b);
      exchange.close();
    });
    server.start();
    return server;
  }

  private static String url(HttpServer server) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/get_reward";
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
  void rewardCombinesAModelALabelledFunctionAndARemoteEndpoint() throws IOException {
    Path rm = rewardModel();
    List<JsonNode> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer server = endpoint(200, "{\"rewards\": [0.5, -1], \"scores\": [1, 0], "
        + "\"extra_logs\": {\"acc\": [1, 0]}}", seen);
    try {
      PpoSettings s = PpoTestSettings.of(tmp, "--reward_pretrain", rm.toString(), "--reward_functions",
          LabelLength.class.getName(), "--remote_rm_url", url(server), "--reward_combine", "weighted",
          "--reward_weights", "0.5,2,3", "--normalize_reward", "false");
      ScoredExperience reply = (ScoredExperience) ask(kit.spawn(Reward.create(s), "reward-remote"), rows(33),
          List.of("abc", ""));
      double[] direct;
      try (CausalLm model = ModelLoader.load(rm, DeviceSpec.CPU, ScalarType.Float)) {
        direct = new RewardScorer(model, 8).score(List.of(new long[] {1, 72, 101, 108, 108, 111},
            new long[] {1, 72, 33, 33}));
      }
      // 0.5·RM + 2·len(label) + 3·remote reward; for filtering the endpoint's scores replace its rewards
      assertArrayEquals(new double[] {0.5 * direct[0] + 2 * 3 + 3 * 0.5, 0.5 * direct[1] + 2 * 0 + 3 * -1},
          WireArrays.doubles(reply.tensors().require(TensorNames.SCORES)), 1e-5);
      assertArrayEquals(new double[] {0.5 * direct[0] + 2 * 3 + 3 * 1, 0.5 * direct[1] + 2 * 0 + 3 * 0},
          WireArrays.doubles(reply.tensors().require(TensorNames.FILTER_SCORES)), 1e-5);
      assertArrayEquals(new float[] {1, 0},
          reply.tensors().require(TensorNames.EXTRA_LOG_PREFIX + "acc").toFloatArray(), 0f);
      assertEquals(1, seen.size());
      JsonNode request = seen.get(0);
      try (HfTokenizer tok = HfTokenizer.load(PpoTestSettings.TINY)) {
        RolloutRows rows = rows(33);
        for (int i = 0; i < 2; i++) { // OpenRLHF decodes with special tokens kept
          assertEquals(tok.decode(rows.sequence(i), false), request.get("query").get(i).asText());
          assertEquals(tok.decode(rows.prompt(i), false), request.get("prompts").get(i).asText());
        }
      }
      assertEquals("[\"abc\",\"\"]", request.get("labels").toString());
    } finally {
      server.stop(0);
    }
  }

  @Test
  void aRemoteEndpointThatKeepsFailingIsAScoreFailureNamingIt() throws IOException {
    List<JsonNode> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer server = endpoint(503, "overloaded", seen);
    try {
      PpoSettings s = PpoTestSettings.of(tmp, "--reward_pretrain", "", "--remote_rm_url", url(server),
          "--remote_rm_attempts", "2",
          "--remote_rm_backoff_ms", "10");
      ScoreReply reply = ask(kit.spawn(Reward.create(s), "reward-remote-down"), rows(33));
      assertTrue(reply instanceof ScoreFailed, reply.toString());
      assertEquals("--remote_rm_url " + url(server) + ": no reward after 2 attempts (last: HTTP 503 overloaded)",
          ((ScoreFailed) reply).reason());
      assertEquals(2, seen.size());
    } finally {
      server.stop(0);
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
