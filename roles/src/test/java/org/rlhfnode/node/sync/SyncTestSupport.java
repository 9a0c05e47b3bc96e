package org.rlhfnode.node.sync;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.FishingOutcome;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.RequestId;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.RolloutReply;
import org.rlhfnode.messages.RolloutRequest;
import org.rlhfnode.messages.SamplingParams;
import org.rlhfnode.messages.WeightVersionInstalled;
import org.rlhfnode.node.role.RolloutReplies;
import org.rlhfnode.node.role.RolloutWorker;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ModelInit;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/** Tiny models, settings, receivers and greedy reference generations shared by the weight-sync tests. */
final class SyncTestSupport {
  static final Path TINY = Path.of(System.getProperty("rlhf.repo"), "examples", "tiny-llama");
  static final RolloutWorker.Settings CPU_F32 = new RolloutWorker.Settings(DeviceSpec.CPU, ScalarType.Float);
  static final Duration WAIT = Duration.ofSeconds(20);
  static final List<List<Integer>> PROMPTS = List.of(List.of(1, 17, 42, 99), List.of(1, 5));
  static final int MAX_NEW = 6;
  static final SamplingParams GREEDY = new SamplingParams(0, 1, 0, MAX_NEW, 1, 0);

  private SyncTestSupport() {}

  /** Quiet logs and a local provider, for one-system tests. */
  static Config localConfig() {
    return ConfigFactory.parseString("""
        pekko.actor.provider = local
        pekko.loglevel = WARNING
        pekko.loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
        pekko.logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
        """).withFallback(ConfigFactory.load());
  }

  /** Settings from {@code kit}'s config with {@code overrides} (HOCON, keys relative to rlhf.weight_sync). */
  static WeightSyncSettings settings(ActorTestKit kit, String overrides) {
    Config c = ConfigFactory.parseString(overrides).atPath("rlhf.weight_sync")
        .withFallback(kit.system().settings().config());
    return WeightSyncSettings.fromConfig(c);
  }

  /** Random weights of the tiny model's shape, different for each seed. */
  static CausalLm randomTiny(long seed) {
    return ModelInit.random(ModelConfig.load(TINY), seed, ModelInit.DEFAULT_STD, ScalarType.Float, DeviceSpec.CPU,
        false);
  }

  /** Greedy continuations of {@link #PROMPTS} by {@code model}, token ids only. */
  static List<List<Long>> greedyTokens(CausalLm model) {
    List<GenerationRequest> requests = new ArrayList<>();
    for (List<Integer> p : PROMPTS) {
      requests.add(new GenerationRequest(p.stream().mapToLong(Integer::longValue).toArray(),
          org.rlhfnode.runtime.generate.SamplingParams.greedy(MAX_NEW)));
    }
    List<List<Long>> out = new ArrayList<>();
    for (GenerationResult r : new GenerationEngine(model).generate(requests)) {
      List<Long> tokens = new ArrayList<>();
      for (long t : r.newTokens()) {
        tokens.add(t);
      }
      out.add(tokens);
    }
    return out;
  }

  /** The tokens of a worker's reply. */
  static List<List<Long>> tokens(GeneratedSequences g) {
    return RolloutReplies.samples(g).stream().map(RolloutReplies.Sample::newTokens).toList();
  }

  /** Asks {@code worker} for a greedy generation at {@code version}. */
  static RolloutReply generate(ActorTestKit kit, ActorRef<RolloutCommand> worker, long version) {
    TestProbe<RolloutReply> replies = kit.createTestProbe();
    worker.tell(new RolloutRequest(new RequestId(0, (int) version, RequestId.Kind.GENERATE, 0), PROMPTS, GREEDY, version, replies.getRef()));
    return replies.receiveMessage(WAIT);
  }

  /** A worker with the tiny model installed as {@code version}. */
  static ActorRef<RolloutCommand> workerWith(ActorTestKit kit, String name, long version) {
    ActorRef<RolloutCommand> worker = kit.spawn(RolloutWorker.create(CPU_F32), name);
    TestProbe<RolloutWorker.InstallReply> installs = kit.createTestProbe();
    worker.tell(new RolloutWorker.InstallWeights(version, TINY, installs.getRef()));
    installs.expectMessageClass(RolloutWorker.WeightsInstalled.class, WAIT);
    return worker;
  }

  /** The {@link WeightReceiver} that {@code worker} registered with the Receptionist. */
  static ActorRef<org.rlhfnode.messages.WeightSyncMessage> receiverOf(ActorTestKit kit, ActorRef<?> worker) {
    TestProbe<Receptionist.Listing> listings = kit.createTestProbe();
    kit.system().receptionist().tell(Receptionist.subscribe(WeightReceiver.KEY, listings.getRef()));
    List<Receptionist.Listing> seen = listings.fishForMessage(WAIT,
        l -> childOf(l, worker) != null ? FishingOutcomes.complete() : continueFishing());
    return childOf(seen.get(seen.size() - 1), worker);
  }

  private static FishingOutcome continueFishing() {
    return FishingOutcomes.continueAndIgnore();
  }

  private static ActorRef<org.rlhfnode.messages.WeightSyncMessage> childOf(Receptionist.Listing l, ActorRef<?> worker) {
    return l.getServiceInstances(WeightReceiver.KEY).stream()
        .filter(r -> r.path().parent().equals(worker.path())).findFirst().orElse(null);
  }

  /** An owner that reports every delivered payload installed at once and passes it on to {@code delivered}. */
  static Behavior<WeightReceiver.Deliver> installingOwner(ActorRef<WeightReceiver.Deliver> delivered) {
    return Behaviors.receiveMessage(d -> {
      d.replyTo().tell(new WeightVersionInstalled(d.payload().version(), "owner", d.payload().totalBytes()));
      delivered.tell(d);
      return Behaviors.same();
    });
  }
}
