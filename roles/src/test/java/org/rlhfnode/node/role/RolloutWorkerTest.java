package org.rlhfnode.node.role;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RoleStatus;
import org.rlhfnode.messages.RollBack;
import org.rlhfnode.messages.RolledBack;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.RolloutRejected;
import org.rlhfnode.messages.RolloutReply;
import org.rlhfnode.messages.RolloutRequest;
import org.rlhfnode.messages.SamplingParams;
import org.rlhfnode.messages.StatusQuery;
import org.rlhfnode.messages.WeightVersionInstalled;
import org.rlhfnode.node.metrics.NodeMetrics;
import org.rlhfnode.node.role.RolloutWorker.InstallRefused;
import org.rlhfnode.node.role.RolloutWorker.InstallReply;
import org.rlhfnode.node.role.RolloutWorker.WeightsInstalled;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.lora.LoraConfig;
import org.rlhfnode.runtime.lora.LoraModel;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ModelInit;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.ModelSaver;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.transport.WeightPayload;

/** Version checks, generation through the executor and atomic weight installs of {@link RolloutWorker}. */
@ExtendWith(TestKitJUnit5Extension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RolloutWorkerTest {
  private static final Path TINY = Path.of(System.getProperty("rlhf.repo"), "examples", "tiny-llama");
  private static final RolloutWorker.Settings CPU_F32 =
      new RolloutWorker.Settings(DeviceSpec.CPU, ScalarType.Float);
  private static final Duration WAIT = Duration.ofSeconds(8);
  private static final List<List<Integer>> PROMPTS = List.of(List.of(1, 17, 42, 99), List.of(1, 5));
  private static final int MAX_NEW = 6;
  private static final SamplingParams GREEDY = new SamplingParams(0, 1, 0, MAX_NEW, 1, 0);

  @JUnit5TestKit
  ActorTestKit kit = new JUnit5TestKitBuilder().withName("RolloutWorkerTest")
      .withCustomConfig(ConfigFactory.parseString("pekko.actor.provider = local")).build();

  private final AtomicInteger ids = new AtomicInteger();

  /** A fresh worker with {@code version} of {@code dir} installed. */
  private ActorRef<RolloutCommand> workerWith(long version, Path dir) {
    ActorRef<RolloutCommand> worker =
        kit.spawn(RolloutWorker.create(CPU_F32), "rollout-" + ids.incrementAndGet());
    TestProbe<InstallReply> installs = kit.createTestProbe();
    worker.tell(new RolloutWorker.InstallWeights(version, dir, installs.getRef()));
    assertEquals(new WeightsInstalled(version), installs.expectMessageClass(WeightsInstalled.class, WAIT));
    return worker;
  }

  private static List<GenerationResult> direct(Path dir) {
    try (CausalLm model = ModelLoader.load(dir, DeviceSpec.CPU, ScalarType.Float)) {
      return direct(model);
    }
  }

  private static List<GenerationResult> direct(CausalLm model) {
    {
      List<GenerationRequest> requests = new ArrayList<>();
      for (List<Integer> p : PROMPTS) {
        long[] promptIds = p.stream().mapToLong(Integer::longValue).toArray();
        requests.add(new GenerationRequest(promptIds,
            org.rlhfnode.runtime.generate.SamplingParams.greedy(MAX_NEW)));
      }
      return new GenerationEngine(model).generate(requests);
    }
  }

  private static void assertSameAs(List<GenerationResult> expected, GeneratedSequences actual) {
    assertSameAs(expected, actual, 1e-5);
  }

  private static void assertSameAs(List<GenerationResult> expected, GeneratedSequences actual, double tolerance) {
    assertEquals(expected.size(), RolloutReplies.samples(actual).size());
    for (int i = 0; i < expected.size(); i++) {
      GenerationResult e = expected.get(i);
      RolloutReplies.Sample a = RolloutReplies.samples(actual).get(i);
      List<Long> tokens = new ArrayList<>();
      for (long t : e.newTokens()) {
        tokens.add(t);
      }
      assertEquals(tokens, a.newTokens(), "tokens of sequence " + i);
      float[] lp = e.logProbs();
      assertEquals(lp.length, a.logProbs().size());
      for (int t = 0; t < lp.length; t++) {
        assertEquals(lp[t], a.logProbs().get(t), tolerance, "log-prob " + t + " of sequence " + i);
      }
      assertEquals(e.finishReason(), a.finishReason());
    }
  }

  private GeneratedSequences generate(ActorRef<RolloutCommand> worker, long version) {
    TestProbe<RolloutReply> replies = kit.createTestProbe();
    worker.tell(new RolloutRequest(new RequestId(0, (int) version, RequestId.Kind.GENERATE, 0), PROMPTS, GREEDY, version, replies.getRef()));
    return replies.expectMessageClass(GeneratedSequences.class, WAIT);
  }

  private RolloutRejected rejected(ActorRef<RolloutCommand> worker, long version) {
    TestProbe<RolloutReply> replies = kit.createTestProbe();
    RequestId id = RequestId.of(0, ids.incrementAndGet(), RequestId.Kind.GENERATE);
    worker.tell(new RolloutRequest(id, PROMPTS, GREEDY, version, replies.getRef()));
    RolloutRejected r = replies.expectMessageClass(RolloutRejected.class, WAIT);
    assertEquals(id, r.requestId());
    assertEquals(version, r.requestedVersion());
    return r;
  }

  private RoleStatus status(ActorRef<RolloutCommand> worker) {
    TestProbe<RoleStatus> replies = kit.createTestProbe();
    worker.tell(new StatusQuery(replies.getRef()));
    return replies.expectMessageClass(RoleStatus.class, WAIT);
  }

  @Test
  void greedyContinuationMatchesGenerationEngine() {
    ActorRef<RolloutCommand> worker = workerWith(1, TINY);
    GeneratedSequences reply = generate(worker, 1);
    assertEquals(new RequestId(0, 1, RequestId.Kind.GENERATE, 0), reply.requestId());
    assertEquals(1, reply.policyVersion());
    assertEquals(1, reply.samplesPerPrompt());
    assertSameAs(direct(TINY), reply);
  }

  @Test
  void publishesTheServedVersionAndRequestsInFlightForPrometheus() {
    int id = ids.get() + 1;
    ActorRef<RolloutCommand> worker = workerWith(4, TINY);
    String engine = "rollout-" + id;
    assertEquals(4.0, gaugeValue("rlhf_rollout_weight_version", engine));
    generate(worker, 4);
    assertEquals(0.0, gaugeValue("rlhf_rollout_requests_in_flight", engine), "answered: none in flight");
  }

  /** The value a gauge of this test's node metrics has for {@code engine}. */
  private double gaugeValue(String name, String engine) {
    for (MetricSnapshot m : NodeMetrics.get(kit.system()).registry().scrape()) {
      if (m.getMetadata().getName().equals(name)) {
        for (GaugeSnapshot.GaugeDataPointSnapshot p : ((GaugeSnapshot) m).getDataPoints()) {
          if (engine.equals(p.getLabels().get("engine"))) {
            return p.getValue();
          }
        }
      }
    }
    throw new AssertionError(name + "{engine=" + engine + "} was never published");
  }

  @Test
  void rejectsRequestForStaleVersion() {
    ActorRef<RolloutCommand> worker = workerWith(3, TINY);
    TestProbe<RolloutReply> replies = kit.createTestProbe();
    worker.tell(new RolloutRequest(RequestId.of(0, 1, RequestId.Kind.GENERATE), PROMPTS, GREEDY, 2, replies.getRef()));
    RolloutRejected rejected = replies.expectMessageClass(RolloutRejected.class, WAIT);
    assertEquals(RequestId.of(0, 1, RequestId.Kind.GENERATE), rejected.requestId());
    assertEquals(2, rejected.requestedVersion());
    assertEquals(3, rejected.installedVersion());
    assertTrue(rejected.reason().contains("stale"), rejected.reason());
  }

  @Test
  void rejectsGenerationBeforeAnyInstall() {
    ActorRef<RolloutCommand> worker =
        kit.spawn(RolloutWorker.create(CPU_F32), "rollout-" + ids.incrementAndGet());
    TestProbe<RolloutReply> replies = kit.createTestProbe();
    worker.tell(new RolloutRequest(RequestId.of(0, 1, RequestId.Kind.GENERATE), PROMPTS, GREEDY, 0, replies.getRef()));
    RolloutRejected rejected = replies.expectMessageClass(RolloutRejected.class, WAIT);
    assertEquals(-1, rejected.installedVersion());
  }

  @Test
  void servesOnlyTheNewVersionAfterInstall(@TempDir Path tmp) {
    Path v2Dir = tmp.resolve("v2");
    try (CausalLm random = ModelInit.random(ModelConfig.load(TINY), 7, ModelInit.DEFAULT_STD, ScalarType.Float,
        DeviceSpec.CPU, false)) {
      ModelSaver.save(random, v2Dir, DType.F32, ModelSaver.DEFAULT_SHARD_BYTES);
    }
    ActorRef<RolloutCommand> worker = workerWith(1, TINY);
    TestProbe<RolloutReply> replies = kit.createTestProbe();
    TestProbe<InstallReply> installs = kit.createTestProbe();
    // Sent before the install: served by version 1, whose model stays open until this finishes.
    worker.tell(new RolloutRequest(RequestId.of(0, 1, RequestId.Kind.GENERATE), PROMPTS, GREEDY, 1, replies.getRef()));
    worker.tell(new RolloutWorker.InstallWeights(2, v2Dir, installs.getRef()));
    GeneratedSequences before = replies.expectMessageClass(GeneratedSequences.class, WAIT);
    assertEquals(1, before.policyVersion());
    assertSameAs(direct(TINY), before);
    assertEquals(new WeightsInstalled(2), installs.expectMessageClass(WeightsInstalled.class, WAIT));

    worker.tell(new RolloutRequest(RequestId.of(0, 1, RequestId.Kind.GENERATE), PROMPTS, GREEDY, 1, replies.getRef()));
    RolloutRejected stale = replies.expectMessageClass(RolloutRejected.class, WAIT);
    assertEquals(2, stale.installedVersion());

    GeneratedSequences after = generate(worker, 2);
    assertEquals(2, after.policyVersion());
    assertSameAs(direct(v2Dir), after);
    assertFalse(RolloutReplies.samples(after).equals(RolloutReplies.samples(before)), "version 2 should differ from version 1");
  }

  @Test
  void aVersionWhoseLoadFailedIsTakenWhenItComesAgain() {
    ActorRef<RolloutCommand> worker = workerWith(1, TINY);
    TestProbe<InstallReply> installs = kit.createTestProbe();
    worker.tell(new RolloutWorker.InstallWeights(2, TINY.resolveSibling("no-such-model"), installs.getRef()));
    InstallRefused failed = installs.expectMessageClass(InstallRefused.class, WAIT);
    assertTrue(failed.reason().startsWith("load failed"), failed.reason());
    assertEquals(1, generate(worker, 1).policyVersion(), "the installed version still serves");
    worker.tell(new RolloutWorker.InstallWeights(2, TINY, installs.getRef())); // resent, not "not newer than 2"
    assertEquals(new WeightsInstalled(2), installs.expectMessageClass(WeightsInstalled.class, WAIT));
    assertEquals(2, generate(worker, 2).policyVersion());
  }

  @Test
  void refusesInstallOfOlderOrSameVersion() {
    ActorRef<RolloutCommand> worker = workerWith(5, TINY);
    TestProbe<InstallReply> installs = kit.createTestProbe();
    worker.tell(new RolloutWorker.InstallWeights(4, TINY, installs.getRef()));
    InstallRefused older = installs.expectMessageClass(InstallRefused.class, WAIT);
    assertEquals(4, older.version());
    assertEquals(5, older.currentVersion());
    worker.tell(new RolloutWorker.InstallWeights(5, TINY, installs.getRef()));
    assertEquals(5, installs.expectMessageClass(InstallRefused.class, WAIT).version());
    // The installed version is untouched.
    assertEquals(5, generate(worker, 5).policyVersion());
  }

  @Test
  void returnsSamplesPerPromptSequencesForEachPrompt() {
    ActorRef<RolloutCommand> worker = workerWith(1, TINY);
    TestProbe<RolloutReply> replies = kit.createTestProbe();
    SamplingParams sampling = new SamplingParams(1.0, 1.0, 0, MAX_NEW, 3, 11);
    worker.tell(new RolloutRequest(RequestId.of(0, 1, RequestId.Kind.GENERATE), PROMPTS, sampling, 1, replies.getRef()));
    GeneratedSequences reply = replies.expectMessageClass(GeneratedSequences.class, WAIT);
    assertEquals(3, reply.samplesPerPrompt());
    assertEquals(PROMPTS.size() * 3, RolloutReplies.samples(reply).size());
    for (RolloutReplies.Sample s : RolloutReplies.samples(reply)) {
      assertEquals(s.newTokens().size(), s.logProbs().size());
      assertTrue(s.newTokens().size() >= 1 && s.newTokens().size() <= MAX_NEW);
    }
  }

  @Test
  void afterARollBackTheEngineServesNothingUntilTheRestoredVersionIsInstalled() {
    ActorRef<RolloutCommand> worker = workerWith(3, TINY);
    assertEquals(3, generate(worker, 3).policyVersion());
    TestProbe<RolledBack> rolledBack = kit.createTestProbe();
    RequestId rollBackId = RequestId.of(1, 0, RequestId.Kind.RESTORE);
    worker.tell(new RollBack(rollBackId, "run-rollback", 1, rolledBack.getRef()));
    RolledBack ack = rolledBack.expectMessageClass(RolledBack.class, WAIT);
    assertEquals(rollBackId, ack.requestId());
    assertEquals(1, ack.version());
    assertTrue(ack.engine().endsWith(worker.path().toStringWithoutAddress()), ack.engine());

    for (long version : new long[] {3, 1}) {
      RolloutRejected r = rejected(worker, version);
      assertEquals(-1, r.installedVersion(), "version " + version);
      assertTrue(r.reason().contains("rolled back"), r.reason());
    }
    RoleStatus waiting = status(worker);
    assertEquals(RoleStatus.State.SYNCING_WEIGHTS, waiting.state());
    assertEquals("run-rollback", waiting.runId());

    TestProbe<InstallReply> installs = kit.createTestProbe();
    worker.tell(new RolloutWorker.InstallWeights(0, TINY, installs.getRef()));
    assertEquals(0, installs.expectMessageClass(InstallRefused.class, WAIT).version(), "older than the restored one");
    worker.tell(new RolloutWorker.InstallWeights(1, TINY, installs.getRef()));
    assertEquals(new WeightsInstalled(1), installs.expectMessageClass(WeightsInstalled.class, WAIT));

    GeneratedSequences served = generate(worker, 1);
    assertEquals(1, served.policyVersion());
    assertSameAs(direct(TINY), served);
    RolloutRejected newer = rejected(worker, 3);
    assertEquals(1, newer.installedVersion());
    assertTrue(newer.reason().contains("stale"), newer.reason());
    RoleStatus serving = status(worker);
    assertEquals(Role.ROLLOUT, serving.role());
    assertEquals(RoleStatus.State.IDLE, serving.state());
    assertEquals(1, serving.policyVersion());
    assertEquals("run-rollback", serving.runId());
  }

  @Test
  void aNewerVersionArrivingAfterARollBackDoesNotKeepOutTheRestoredOne() {
    ActorRef<RolloutCommand> worker = workerWith(3, TINY);
    TestProbe<RolledBack> rolledBack = kit.createTestProbe();
    worker.tell(new RollBack(RequestId.of(1, 0, RequestId.Kind.RESTORE), "run-late", 1, rolledBack.getRef()));
    rolledBack.expectMessageClass(RolledBack.class, WAIT);
    // Version 4 of the abandoned iterations, delivered by the receiver just before it was reset.
    TestProbe<WeightVersionInstalled> late = kit.createTestProbe();
    try (CausalLm abandoned = ModelInit.random(ModelConfig.load(TINY), 4, ModelInit.DEFAULT_STD, ScalarType.Float,
        DeviceSpec.CPU, false)) {
      worker.tell(new RolloutWorker.InstallPayload(WeightPayload.of(4, abandoned), late.getRef()));
    }
    TestProbe<InstallReply> installs = kit.createTestProbe();
    worker.tell(new RolloutWorker.InstallWeights(4, TINY, installs.getRef()));
    InstallRefused refused = installs.expectMessageClass(InstallRefused.class, WAIT);
    assertEquals(4, refused.version());
    assertTrue(refused.reason().contains("rolled back"), refused.reason());

    worker.tell(new RolloutWorker.InstallWeights(1, TINY, installs.getRef()));
    assertEquals(new WeightsInstalled(1), installs.expectMessageClass(WeightsInstalled.class, WAIT));
    late.expectNoMessage(Duration.ofMillis(100)); // handled before the install of version 1: refused, not installed
    GeneratedSequences served = generate(worker, 1);
    assertEquals(1, served.policyVersion());
    assertSameAs(direct(TINY), served);
  }

  @Test
  void aLoraWorkerServesEachAdapterPayloadMergedIntoTheBase() {
    LoraConfig config = new LoraConfig(4, 8, 0, List.of("q_proj", "v_proj"));
    ActorRef<RolloutCommand> worker = kit.spawn(RolloutWorker.create(
        new RolloutWorker.Settings(DeviceSpec.CPU, ScalarType.Float, 1, config)), "rollout-lora");
    TestProbe<InstallReply> installs = kit.createTestProbe();
    worker.tell(new RolloutWorker.InstallWeights(0, TINY, installs.getRef()));
    installs.expectMessageClass(WeightsInstalled.class, WAIT);
    assertSameAs(direct(TINY), generate(worker, 0)); // version 0: the base itself
    try (CausalLm model = ModelLoader.load(TINY, DeviceSpec.CPU, ScalarType.Float);
        LoraModel lora = LoraModel.attach(model, config, 3)) {
      for (int v = 1; v <= 2; v++) {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
          Generator gen = torch.createCPUGenerator(v);
          lora.layers().values().forEach(l -> l.loraB().normal_(0.0, 0.2, new GeneratorOptional(gen)));
        }
        TestProbe<WeightVersionInstalled> installed = kit.createTestProbe();
        WeightPayload adapters = WeightPayload.of(v, lora.trainableParameters());
        assertTrue(adapters.totalBytes() < 0.1 * model.config().parameterCount() * 4, "adapters only");
        worker.tell(new RolloutWorker.InstallPayload(adapters, installed.getRef()));
        assertEquals(v, installed.expectMessageClass(WeightVersionInstalled.class, WAIT).version());
        // merged W + s·B A against the adapters applied beside W: equal to float32 summation order
        GeneratedSequences served = generate(worker, v);
        assertSameAs(direct(model), served, 1e-4);
        lora.setEnabled(false);
        List<GenerationResult> base = direct(model);
        lora.setEnabled(true);
        double moved = 0;
        for (int i = 0; i < base.size(); i++) {
          moved = Math.max(moved, Math.abs(base.get(i).logProbs()[0] - RolloutReplies.samples(served).get(i).logProbs().get(0)));
        }
        assertTrue(moved > 1e-3, "version " + v + " is not the base: " + moved);
      }
    }
  }
}
