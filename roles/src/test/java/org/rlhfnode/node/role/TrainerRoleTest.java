package org.rlhfnode.node.role;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.messages.CheckpointReply;
import org.rlhfnode.messages.CheckpointRequest;
import org.rlhfnode.messages.CheckpointSaved;
import org.rlhfnode.messages.ExperienceBatch;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.RestoreFailed;
import org.rlhfnode.messages.RestoreReply;
import org.rlhfnode.messages.RestoreState;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RoleStatus;
import org.rlhfnode.messages.ScoreReply;
import org.rlhfnode.messages.ScoreRequest;
import org.rlhfnode.messages.ScoredExperience;
import org.rlhfnode.messages.StateRestored;
import org.rlhfnode.messages.StatusQuery;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.messages.TrainStep;
import org.rlhfnode.messages.TrainStepDone;
import org.rlhfnode.messages.TrainerCommand;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.Experience;
import org.rlhfnode.runtime.algo.ppo.ExperienceMaker;
import org.rlhfnode.runtime.algo.ppo.KlController;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;

/**
 * The training roles' protocol on the tiny Llama: lp_old and values from the current weights, one
 * weight version per step, every batch trained exactly once, stale batches refused, a step that
 * arrives before its batch waits for it, and checkpoint parts (one file per rank from 2 ZeRO-3 ranks)
 * that restore the exact state on 2 ranks or 1.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrainerRoleTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("TrainerRoleTest")
      .withCustomConfig(ConfigFactory.parseString("pekko.actor.provider = local")).build();

  @TempDir
  Path tmp;

  private final AtomicInteger ids = new AtomicInteger();

  /** Prompt [1, 17, 42] with responses [5, 6] and [7]; prompt [1, 9] with responses [8, 8, 8] and [3]. */
  private static RolloutRows rows() {
    long[] p0 = {1, 17, 42};
    long[] p1 = {1, 9};
    return RolloutRows.of(List.of(p0, p0, p1, p1),
        List.of(new long[] {5, 6}, new long[] {7}, new long[] {8, 8, 8}, new long[] {3}), null,
        new boolean[] {false, false, true, false}, 0);
  }

  private static RequestId id(int batch) {
    return RequestId.of(0, batch, RequestId.Kind.BATCH);
  }

  private ActorRef<TrainerCommand> spawn(Learner learner, int maxStaleness) {
    return kit.spawn(TrainerRole.create(learner, maxStaleness, null), "trainer-" + ids.incrementAndGet());
  }

  private float[] score(ActorRef<TrainerCommand> role, String name) {
    TestProbe<ScoreReply> replies = kit.createTestProbe();
    role.tell(new ScoreRequest(RequestId.of(0, ids.incrementAndGet(), RequestId.Kind.SCORE), 0, WireArrays.rows(rows()), replies.getRef()));
    ScoredExperience s = replies.expectMessageClass(ScoredExperience.class, WAIT);
    return s.tensors().require(name).toFloatArray();
  }

  /** The experience of {@link #rows()} with lp_old from {@code policy} and fixed scores. */
  private ExperienceBatch batch(PpoSettings s, ActorRef<TrainerCommand> policy, RequestId id, long version) {
    RolloutRows rows = rows();
    Experience e = ExperienceMaker.assemble(s.experience(), KlController.fixed(0), rows,
        new double[] {1, 0, 0, 1}, score(policy, TensorNames.OLD_LOG_PROBS), null, null, version);
    return new ExperienceBatch(id, 0, version, WireArrays.experience(e));
  }

  private TrainStepDone step(ActorRef<TrainerCommand> role, long version, RequestId... batchIds) {
    TestProbe<TrainStepDone> done = kit.createTestProbe();
    role.tell(new TrainStep(RequestId.of(0, ids.incrementAndGet(), RequestId.Kind.TRAIN), 0, version, List.of(batchIds), done.getRef()));
    return done.expectMessageClass(TrainStepDone.class, WAIT);
  }

  /** A batch id not used before in this test class. */
  private RequestId freshBatchId() {
    return RequestId.of(1, ids.incrementAndGet(), RequestId.Kind.BATCH);
  }

  /** {@code b}'s content under a new batch id, so that it can be trained again. */
  private ExperienceBatch again(ExperienceBatch b) {
    return new ExperienceBatch(freshBatchId(), b.iteration(), b.policyVersion(), b.tensors());
  }

  /** Sends {@code b}'s content again under a new batch id and returns that id. */
  private RequestId sendAgain(ActorRef<TrainerCommand> role, ExperienceBatch b) {
    ExperienceBatch copy = again(b);
    role.tell(copy);
    return copy.batchId();
  }

  /** Has {@code role} write its checkpoint part (iteration {@code iteration}) into {@code staging}. */
  private CheckpointSaved writePart(ActorRef<TrainerCommand> role, Path staging, long iteration, long version) {
    TestProbe<CheckpointReply> saved = kit.createTestProbe();
    role.tell(new CheckpointRequest(RequestId.of(0, (int) iteration, RequestId.Kind.CHECKPOINT), iteration, version,
        staging.toString(), false, saved.getRef()));
    return saved.expectMessageClass(CheckpointSaved.class, WAIT);
  }

  private RestoreReply restore(ActorRef<TrainerCommand> role, String runId, String checkpoint) {
    TestProbe<RestoreReply> replies = kit.createTestProbe();
    RequestId id = RequestId.of(1, ids.incrementAndGet(), RequestId.Kind.RESTORE);
    role.tell(new RestoreState(id, runId, checkpoint, replies.getRef()));
    RestoreReply reply = replies.expectMessageClass(RestoreReply.class, WAIT);
    assertEquals(id, reply instanceof StateRestored r ? r.requestId() : ((RestoreFailed) reply).requestId());
    return reply;
  }

  private RoleStatus status(ActorRef<TrainerCommand> role) {
    TestProbe<RoleStatus> replies = kit.createTestProbe();
    role.tell(new StatusQuery(replies.getRef()));
    return replies.expectMessageClass(RoleStatus.class, WAIT);
  }

  @Test
  void scoresLogProbsInsideTheActionMaskOnly() {
    PpoSettings s = PpoTestSettings.of(tmp, "--advantage_estimator", "group_norm");
    float[] lp = score(spawn(Learner.policy(s), 0), TensorNames.OLD_LOG_PROBS);
    float[] mask = rows().actionMask();
    for (int i = 0; i < lp.length; i++) {
      if (mask[i] == 0) {
        assertEquals(0f, lp[i]);
      } else {
        assertTrue(lp[i] < 0 && Float.isFinite(lp[i]), "lp " + lp[i]);
      }
    }
  }

  @Test
  void trainsEachBatchExactlyOnceAndCountsVersions() {
    PpoSettings s = PpoTestSettings.of(tmp, "--advantage_estimator", "group_norm");
    ActorRef<TrainerCommand> policy = spawn(Learner.policy(s), 0);
    ExperienceBatch b = batch(s, policy, id(0), 0);
    policy.tell(b);
    policy.tell(b); // delivered twice: kept once
    TrainStepDone first = step(policy, 0, id(0));
    assertEquals("", first.error());
    assertEquals(1, first.policyVersion());
    assertEquals(List.of(id(0)), first.batchIds());
    assertTrue(Double.isFinite(first.metrics().get("policy_loss")));
    assertEquals(1.0, first.metrics().get("optimizer_steps")); // 4 samples, train_batch_size 4, 1 epoch
    policy.tell(b); // a late copy of a consumed batch is ignored
    TrainStepDone again = step(policy, 1, id(0));
    assertTrue(again.error().contains("already consumed"), again.error());
    assertEquals(1, again.policyVersion());
    float[] after = score(policy, TensorNames.OLD_LOG_PROBS);
    float[] before = b.tensors().require(TensorNames.OLD_LOG_PROBS).toFloatArray();
    assertTrue(!java.util.Arrays.equals(after, before), "the step changed the weights");
  }

  @Test
  void refusesBatchesOlderThanMaxStalenessAndVersionMismatches() {
    PpoSettings s = PpoTestSettings.of(tmp, "--advantage_estimator", "group_norm");
    ActorRef<TrainerCommand> policy = spawn(Learner.policy(s), 1);
    ExperienceBatch v0a = batch(s, policy, id(1), 0);
    ExperienceBatch v0b = batch(s, policy, id(2), 0);
    ExperienceBatch v0c = batch(s, policy, id(3), 0);
    policy.tell(v0a);
    policy.tell(v0b);
    policy.tell(v0c);
    assertEquals("", step(policy, 0, id(1)).error()); // staleness 0
    assertTrue(step(policy, 0, id(2)).error().contains("version mismatch"));
    assertEquals("", step(policy, 1, id(2)).error()); // staleness 1 ≤ max_staleness 1
    TrainStepDone stale = step(policy, 2, id(3)); // staleness 2
    assertTrue(stale.error().contains("2 versions old, more than max_staleness 1"), stale.error());
    assertEquals(2, stale.policyVersion());
  }

  @Test
  void aStepWaitsForABatchStillOnItsWay() {
    PpoSettings s = PpoTestSettings.of(tmp, "--advantage_estimator", "group_norm");
    ActorRef<TrainerCommand> policy = spawn(Learner.policy(s), 0);
    ExperienceBatch b = batch(s, policy, id(4), 0);
    TestProbe<TrainStepDone> done = kit.createTestProbe();
    policy.tell(new TrainStep(RequestId.of(0, 4, RequestId.Kind.TRAIN), 0, 0, List.of(id(4)), done.getRef()));
    done.expectNoMessage(Duration.ofMillis(300));
    policy.tell(b);
    assertEquals(1, done.expectMessageClass(TrainStepDone.class, WAIT).policyVersion());
  }

  @Test
  void criticScoresValuesTrainsAndSaves() throws Exception {
    PpoSettings s = PpoTestSettings.of(tmp, "--advantage_estimator", "gae");
    ActorRef<TrainerCommand> policy = spawn(Learner.policy(s), 0);
    ActorRef<TrainerCommand> critic = spawn(Learner.critic(s), 0);
    float[] values = score(critic, TensorNames.VALUES);
    RolloutRows rows = rows();
    Experience e = ExperienceMaker.assemble(s.experience(), KlController.fixed(0), rows,
        new double[] {1, 0, 0, 1}, score(policy, TensorNames.OLD_LOG_PROBS), null, values, 0);
    critic.tell(new ExperienceBatch(id(5), 0, 0, WireArrays.experience(e)));
    TrainStepDone done = step(critic, 0, id(5));
    assertEquals("", done.error());
    assertEquals(0, done.policyVersion(), "the critic does not count policy versions");
    assertTrue(Double.isFinite(done.metrics().get("value_loss")));
    assertTrue(Double.isNaN(done.metrics().get("policy_loss")));
    TestProbe<CheckpointReply> saved = kit.createTestProbe();
    critic.tell(new CheckpointRequest(RequestId.of(0, 0, RequestId.Kind.CHECKPOINT), 0, 0,
        tmp.resolve("ckpt").toString(), true, saved.getRef()));
    CheckpointSaved ok = saved.expectMessageClass(CheckpointSaved.class, WAIT);
    assertTrue(Files.isRegularFile(Path.of(ok.path()).resolve("model.safetensors")));
    assertTrue(ok.bytes() > 0);
  }

  @Test
  void aCheckpointPartRestoresTheExactWeightsOptimizerAndVersion() throws Exception {
    PpoSettings s = PpoTestSettings.of(tmp, "--advantage_estimator", "group_norm");
    ActorRef<TrainerCommand> policy = spawn(Learner.policy(s), 0);
    ExperienceBatch first = batch(s, policy, freshBatchId(), 0);
    policy.tell(first);
    assertEquals(1, step(policy, 0, first.batchId()).policyVersion());
    float[] afterFirst = score(policy, TensorNames.OLD_LOG_PROBS);

    Path staging = Files.createDirectories(tmp.resolve("restore-exact"));
    CheckpointSaved saved = writePart(policy, staging, 1, 1);
    assertTrue(saved.manifestSha256().matches("[0-9a-f]{64}"), saved.manifestSha256());
    assertEquals(Role.POLICY, saved.role());
    assertEquals(1, saved.policyVersion());
    Path part = staging.resolve("policy");
    assertEquals(part.toString(), saved.path());
    assertTrue(Files.isRegularFile(part.resolve("manifest.json")));

    ExperienceBatch second = batch(s, policy, freshBatchId(), 1);
    policy.tell(second);
    TrainStepDone secondStep = step(policy, 1, second.batchId());
    assertEquals(2, secondStep.policyVersion());
    float[] afterSecond = score(policy, TensorNames.OLD_LOG_PROBS);
    assertFalse(Arrays.equals(afterFirst, afterSecond), "the second step changed the weights");

    StateRestored restored = (StateRestored) restore(policy, "run-exact", part.toString());
    assertEquals(1, restored.policyVersion());
    assertEquals(Role.POLICY, restored.role());
    assertEquals(part.toString(), restored.checkpoint());
    assertArrayEquals(afterFirst, score(policy, TensorNames.OLD_LOG_PROBS), "weights of version 1, bit for bit");

    // The same update from the restored state: equal only if AdamW's moments and step and the shuffle
    // counter came back too, since the loss is taken before the optimizer step and the weights after it.
    TrainStepDone redone = step(policy, 1, sendAgain(policy, second));
    assertEquals("", redone.error());
    assertEquals(2, redone.policyVersion());
    assertEquals(secondStep.metrics().get("policy_loss"), redone.metrics().get("policy_loss"));
    assertEquals(secondStep.metrics(), redone.metrics());
    assertArrayEquals(afterSecond, score(policy, TensorNames.OLD_LOG_PROBS), "weights of version 2, bit for bit");
    assertEquals("run-exact", status(policy).runId());
  }

  @Test
  void aTwoRankZero3PartIsOneFilePerRankAndRestoresExactlyOnTwoRanksOrOne() throws Exception {
    PpoSettings s = PpoTestSettings.of(tmp, "--advantage_estimator", "group_norm", "--actor_num_gpus_per_node", "2",
        "--zero_stage", "3");
    ActorRef<TrainerCommand> policy = spawn(Learner.policy(s), 0);
    ExperienceBatch first = batch(s, policy, freshBatchId(), 0);
    policy.tell(first);
    assertEquals(1, step(policy, 0, first.batchId()).policyVersion());
    float[] afterFirst = score(policy, TensorNames.OLD_LOG_PROBS);
    Path part = Path.of(writePart(policy, Files.createDirectories(tmp.resolve("restore-zero3")), 1, 1).path());
    try (Stream<Path> files = Files.list(part.resolve("zero"))) {
      assertEquals(List.of("layout.json", "rank-00000-of-00002.safetensors", "rank-00001-of-00002.safetensors"),
          files.map(f -> f.getFileName().toString()).sorted().toList());
    }
    assertFalse(Files.exists(part.resolve("model")), "no gathered copy");

    ExperienceBatch second = batch(s, policy, freshBatchId(), 1);
    policy.tell(second);
    TrainStepDone secondStep = step(policy, 1, second.batchId());
    float[] afterSecond = score(policy, TensorNames.OLD_LOG_PROBS);
    assertEquals(1, ((StateRestored) restore(policy, "run-zero3", part.toString())).policyVersion());
    assertArrayEquals(afterFirst, score(policy, TensorNames.OLD_LOG_PROBS), "weights of version 1, bit for bit");
    assertEquals(secondStep.metrics(), step(policy, 1, sendAgain(policy, second)).metrics(), "moments and step back");
    assertArrayEquals(afterSecond, score(policy, TensorNames.OLD_LOG_PROBS), "weights of version 2, bit for bit");

    ActorRef<TrainerCommand> one = spawn(Learner.policy(PpoTestSettings.of(tmp, "--advantage_estimator",
        "group_norm")), 0);
    assertEquals(1, ((StateRestored) restore(one, "run-zero3-one", part.toString())).policyVersion());
    assertArrayEquals(afterFirst, score(one, TensorNames.OLD_LOG_PROBS), "one rank reads the pieces whole");

    Path rank1 = part.resolve("zero").resolve("rank-00001-of-00002.safetensors");
    byte[] bytes = Files.readAllBytes(rank1);
    bytes[bytes.length - 1] ^= 0x01;
    Files.write(rank1, bytes);
    RestoreFailed failed = (RestoreFailed) restore(policy, "run-zero3-corrupt", part.toString());
    assertEquals(RestoreFailed.Cause.CORRUPT, failed.cause(), failed.reason());
    assertTrue(failed.reason().contains(rank1.toString()), failed.reason());
  }

  @Test
  void aCorruptPartIsReportedCorruptNamingTheFile() throws Exception {
    PpoSettings s = PpoTestSettings.of(tmp, "--advantage_estimator", "group_norm");
    ActorRef<TrainerCommand> policy = spawn(Learner.policy(s), 0);
    Path staging = Files.createDirectories(tmp.resolve("restore-corrupt"));
    Path part = Path.of(writePart(policy, staging, 0, 0).path());
    Path weights;
    try (Stream<Path> files = Files.list(part.resolve("model"))) {
      weights = files.filter(f -> f.toString().endsWith(".safetensors")).findFirst().orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(weights);
    bytes[bytes.length - 1] ^= 0x01; // a weight's last byte: same size, the header still parses
    Files.write(weights, bytes);

    RestoreFailed failed = (RestoreFailed) restore(policy, "run-corrupt", part.toString());
    assertEquals(RestoreFailed.Cause.CORRUPT, failed.cause(), failed.reason());
    assertEquals(Role.POLICY, failed.role());
    assertTrue(failed.reason().contains(weights.toString()), failed.reason());
  }

  @Test
  void aPartOfTheCriticIsForeignToThePolicy() throws Exception {
    PpoSettings s = PpoTestSettings.of(tmp, "--advantage_estimator", "gae");
    ActorRef<TrainerCommand> critic = spawn(Learner.critic(s), 0);
    ActorRef<TrainerCommand> policy = spawn(Learner.policy(s), 0);
    Path staging = Files.createDirectories(tmp.resolve("restore-foreign"));
    CheckpointSaved saved = writePart(critic, staging, 0, 0);
    assertEquals(staging.resolve("critic").toString(), saved.path());

    RestoreFailed failed = (RestoreFailed) restore(policy, "run-foreign", saved.path());
    assertEquals(RestoreFailed.Cause.FOREIGN, failed.cause(), failed.reason());
    assertEquals(Role.POLICY, failed.role());
    assertTrue(failed.reason().contains(saved.path()) && failed.reason().contains("critic"), failed.reason());
  }

  @Test
  void restoringTheInitialStateGoesBackToThePretrainedWeightsAndVersionZero() {
    PpoSettings s = PpoTestSettings.of(tmp, "--advantage_estimator", "group_norm");
    ActorRef<TrainerCommand> policy = spawn(Learner.policy(s), 0);
    float[] pretrained = score(policy, TensorNames.OLD_LOG_PROBS);
    ExperienceBatch first = batch(s, policy, freshBatchId(), 0);
    policy.tell(first);
    TrainStepDone firstStep = step(policy, 0, first.batchId());
    assertEquals(1, firstStep.policyVersion());
    float[] trained = score(policy, TensorNames.OLD_LOG_PROBS);
    assertFalse(Arrays.equals(pretrained, trained), "the step changed the weights");

    StateRestored restored = (StateRestored) restore(policy, "run-initial", "");
    assertEquals(0, restored.policyVersion());
    assertEquals("", restored.checkpoint());
    assertArrayEquals(pretrained, score(policy, TensorNames.OLD_LOG_PROBS), "the pretrained weights, bit for bit");
    RoleStatus status = status(policy);
    assertEquals("run-initial", status.runId());
    assertEquals(0, status.policyVersion());
    assertEquals(Role.POLICY, status.role());

    // A fresh optimizer and update counter: the first step again gives the first step's numbers and weights.
    TrainStepDone redone = step(policy, 0, sendAgain(policy, first));
    assertEquals(1, redone.policyVersion());
    assertEquals(firstStep.metrics(), redone.metrics());
    assertArrayEquals(trained, score(policy, TensorNames.OLD_LOG_PROBS));
  }
}
