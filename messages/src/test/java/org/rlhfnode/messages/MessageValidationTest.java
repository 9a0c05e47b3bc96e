package org.rlhfnode.messages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/** The compact constructors copy collections and reject inconsistent messages with errors naming the field. */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MessageValidationTest {
  private static final SamplingParams SAMPLING = new SamplingParams(1.0, 1.0, 0, 16, 2, 1);

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("MessageValidationTest")
      .withCustomConfig(TestSystems.serializationConfig()).build();

  @Test
  void rolloutRequestCopiesPromptsDeeply() {
    List<Integer> prompt = new ArrayList<>(List.of(1, 2));
    List<List<Integer>> prompts = new ArrayList<>(List.of(prompt));
    RolloutRequest r = new RolloutRequest(Samples.GEN, prompts, SAMPLING, 0, kit.<RolloutReply>createTestProbe().getRef());
    prompt.add(3);
    prompts.add(List.of(9));
    assertEquals(List.of(List.of(1, 2)), r.prompts());
    assertThrows(UnsupportedOperationException.class, () -> r.prompts().get(0).add(4));
    assertEquals(2, r.expectedSequences());
  }

  @Test
  void rolloutRequestRejectsEmptyPromptsAndMissingReplyTo() {
    ActorRef<RolloutReply> to = kit.<RolloutReply>createTestProbe().getRef();
    assertThrows(IllegalArgumentException.class, () -> new RolloutRequest(Samples.GEN, List.of(), SAMPLING, 0, to));
    assertThrows(IllegalArgumentException.class, () -> new RolloutRequest(Samples.GEN, List.of(List.of()), SAMPLING, 0, to));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new RolloutRequest(Samples.GEN, List.of(List.of(1)), SAMPLING, 0, null));
    assertEquals("RolloutRequest.replyTo must not be null", e.getMessage());
  }

  @Test
  void trainStepMessagesCopyTheirCollections() {
    List<RequestId> ids = new ArrayList<>(List.of(Samples.BATCH));
    Map<String, Double> metrics = new HashMap<>(Map.of("kl", 0.1));
    TrainStep step = new TrainStep(Samples.TRAIN, 1, 0, ids, kit.<TrainStepDone>createTestProbe().getRef());
    TrainStepDone done = new TrainStepDone(Samples.TRAIN, Role.POLICY, 1, 1, ids, metrics, "");
    ids.add(RequestId.of(0, 2, RequestId.Kind.BATCH));
    metrics.put("kl", 9.0);
    assertEquals(List.of(Samples.BATCH), step.batchIds());
    assertEquals(List.of(Samples.BATCH), done.batchIds());
    assertEquals(Map.of("kl", 0.1), done.metrics());
  }

  @Test
  void generatedSequencesMustHoldWholeGroups() {
    TensorMap three = TensorMap.of(TensorNames.SEQUENCES, WireTensor.ofLongs(new long[] {3, 1}, 1, 2, 3));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new GeneratedSequences(Samples.GEN, 0, 2, three));
    assertEquals("GeneratedSequences: batch 3 is not a multiple of samplesPerPrompt 2", e.getMessage());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> new ExperienceBatch(Samples.BATCH, 0, 0, TensorMap.empty()));
    assertEquals("no tensor 'sequences'; present: []", missing.getMessage());
  }

  @Test
  void experienceBatchReportsItsStaleness() {
    ExperienceBatch b = new ExperienceBatch(Samples.BATCH, 3, 5, Samples.rolloutTensors());
    assertEquals(0, b.staleness(5));
    assertEquals(2, b.staleness(7));
    assertEquals(4, b.batchSize());
  }

  @Test
  void weightUpdateRejectsOverlappingOrOverlongLayouts() {
    ActorRef<WeightVersionInstalled> to = kit.<WeightVersionInstalled>createTestProbe().getRef();
    TensorLayout a = new TensorLayout("a", "F32", new long[] {4}, 0);
    TensorLayout b = new TensorLayout("b", "BF16", new long[] {2, 2}, 12);
    IllegalArgumentException overlap = assertThrows(IllegalArgumentException.class,
        () -> new WeightUpdate(1, 100, 1, List.of(b, a), Samples.DIGEST, to));
    assertEquals("WeightUpdate: tensor b at 12 overlaps a which ends at 16", overlap.getMessage());
    TensorLayout c = new TensorLayout("c", "I64", new long[] {2}, 16);
    IllegalArgumentException past = assertThrows(IllegalArgumentException.class,
        () -> new WeightUpdate(1, 31, 1, List.of(a, c), Samples.DIGEST, to));
    assertEquals("WeightUpdate: tensor c ends at 32, past totalBytes 31", past.getMessage());
    assertEquals(2, new WeightUpdate(1, 32, 1, List.of(c, a), Samples.DIGEST, to).layout().size());
  }

  @Test
  void scalarFieldsAreChecked() {
    assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1, 0, 0, 16, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new SamplingParams(Double.NaN, 1, 0, 16, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new CollectiveRendezvous(1, "mpi", "h", 1, Samples.SECRET, 2, 0));
    IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
        () -> new CollectiveRendezvous(1, "nccl", "h", 29_500, Samples.SECRET, 2, 2));
    assertEquals("CollectiveRendezvous.rank 2 is outside [0, 2)", rank.getMessage());
    IllegalArgumentException secret = assertThrows(IllegalArgumentException.class,
        () -> new CollectiveRendezvous(1, "gloo", "h", 29_500, Samples.SECRET.toUpperCase(), 2, 1));
    assertEquals("CollectiveRendezvous.storeSecret must be 64 lower-case hex digits", secret.getMessage());
    IllegalArgumentException digest = assertThrows(IllegalArgumentException.class,
        () -> new WeightUpdate(1, 0, 1, List.of(), "abc", kit.<WeightVersionInstalled>createTestProbe().getRef()));
    assertEquals("WeightUpdate.sha256 must be 64 lower-case hex digits, got 'abc'", digest.getMessage());
  }

  @Test
  void secretsStayOutOfToString() {
    CollectiveRendezvous r = new CollectiveRendezvous(1, "gloo", "h", 29_500, Samples.SECRET, 2, 1);
    assertFalse(r.toString().contains(Samples.SECRET), r.toString());
    assertTrue(r.toString().contains("h:29500"), r.toString());
    RankCommand.Join j = new RankCommand.Join(9, 0, Role.POLICY, "h", 41_233, Samples.SECRET, 4, 2,
        kit.<TrainerCommand>createTestProbe().getRef(), kit.<RankTaskDone>createTestProbe().getRef());
    assertFalse(j.toString().contains(Samples.SECRET), j.toString());
    assertThrows(IllegalArgumentException.class,
        () -> new RoleStatus(Role.ROLLOUT, "r0", RoleStatus.State.IDLE, -1, "cpu", 0, "", ""));
  }
}
