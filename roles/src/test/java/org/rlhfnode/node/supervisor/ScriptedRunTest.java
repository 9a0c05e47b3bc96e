package org.rlhfnode.node.supervisor;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.node.ppo.PpoSettings;
import org.rlhfnode.node.ppo.RunPlan;
import org.rlhfnode.node.role.PpoTestSettings;

/**
 * What the supervisor tests share: one actor system per test (the Receptionist must not list another
 * test's scripted roles), GRPO-style settings without KL over the tiny model's prompts, and a started
 * supervisor whose outcome a probe receives.
 */
abstract class ScriptedRunTest {
  static final Duration WAIT = Duration.ofSeconds(20);
  private static final AtomicInteger RUNS = new AtomicInteger();

  ActorTestKit kit;
  int run;

  @TempDir
  Path tmp;

  @BeforeEach
  void startKit() {
    run = RUNS.incrementAndGet();
    kit = ActorTestKit.create(getClass().getSimpleName() + "-" + run,
        ConfigFactory.parseString("pekko.actor.provider = local"));
  }

  @AfterEach
  void stopKit() {
    kit.shutdownTestKit();
  }

  /** {@code iterations} of group_norm without KL, saving to {@code save}; {@code extra} flags win. */
  static PpoSettings settings(Path save, int iterations, String... extra) {
    List<String> args = new ArrayList<>(List.of("--advantage_estimator", "group_norm", "--init_kl_coef", "0",
        "--max_iterations", String.valueOf(iterations)));
    args.addAll(List.of(extra));
    return PpoTestSettings.of(save, args.toArray(String[]::new));
  }

  /** A supervisor for {@code s}, telling {@code outcome} how the run ended. */
  ActorRef<Supervisor.Command> start(PpoSettings s, TestProbe<Supervisor.Outcome> outcome) {
    return kit.spawn(Supervisor.create(s, RunPlan.load(s), outcome.getRef()), "supervisor-" + run);
  }
}
