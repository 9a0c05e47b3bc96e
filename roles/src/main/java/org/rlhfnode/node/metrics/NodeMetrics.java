package org.rlhfnode.node.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.rlhfnode.messages.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's live state for Prometheus (one per actor system, a Pekko extension): actors publish their numbers
 * here as they change, each a lock-free gauge or counter update that never blocks the actor, and
 * {@link #serve} exposes them with the JVM and process metrics (heap, GC, threads, resident memory) in
 * Prometheus text format at {@code http://host:port/metrics} ({@code --metrics_port}).
 *
 * <p>Metrics (all gauges unless marked): {@code rlhf_node_role{role}} = 1 per role this node runs; the
 * supervisor's run: {@code rlhf_run_iteration} (trained), {@code rlhf_run_iterations_planned},
 * {@code rlhf_run_phase_seconds{phase=generate|score|train|sync|iteration}} of the last iteration,
 * {@code rlhf_run_staleness}, {@code rlhf_run_policy_version} (on the engines),
 * {@code rlhf_run_trainer_version}, {@code rlhf_run_iterations_in_flight} (rollouts started, not scored),
 * {@code rlhf_run_iterations_waiting} (scored, waiting to train or sync), {@code rlhf_run_training} (0/1),
 * {@code rlhf_run_samples}, and {@code rlhf_run_metric{metric}} for every finite value of the last
 * metrics.jsonl row (reward_mean, kl, losses, ..., eval_reward_mean once evaluated); a rollout engine's
 * {@code rlhf_rollout_weight_version{engine}} and {@code rlhf_rollout_requests_in_flight{engine}}
 * (accepted, not yet answered); a policy trainer's {@code rlhf_weight_sync_version} and counter
 * {@code rlhf_weight_sync_bytes_total} (payload bytes × receivers of every published version).
 */
public final class NodeMetrics implements Extension {
  /** The extension's id: {@code NodeMetrics.get(system)}. */
  public static final class Id extends ExtensionId<NodeMetrics> {
    @Override
    public NodeMetrics createExtension(ActorSystem<?> system) {
      return new NodeMetrics();
    }
  }

  /** The per-iteration phase times of a metrics row and their {@code phase} label. */
  private static final Map<String, String> PHASES = Map.of("time_generate", "generate", "time_score", "score",
      "time_train", "train", "time_sync", "sync", "time_iteration", "iteration");
  private static final Id ID = new Id();
  private static final Logger LOG = LoggerFactory.getLogger(NodeMetrics.class);

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Gauge role = gauge("rlhf_node_role", "1 for each PPO role this node runs", "role");
  private final Gauge iteration = gauge("rlhf_run_iteration", "iterations trained so far");
  private final Gauge planned = gauge("rlhf_run_iterations_planned", "iterations the run will train");
  private final Gauge phaseSeconds = gauge("rlhf_run_phase_seconds", "seconds the last iteration spent per phase",
      "phase");
  private final Gauge staleness = gauge("rlhf_run_staleness",
      "policy versions between the weights that generated the last trained batch and the trainer's");
  private final Gauge policyVersion = gauge("rlhf_run_policy_version", "weight version on every rollout engine");
  private final Gauge trainerVersion = gauge("rlhf_run_trainer_version", "weight version of the policy trainer");
  private final Gauge inFlight = gauge("rlhf_run_iterations_in_flight", "iterations whose rollouts are not scored yet");
  private final Gauge waiting = gauge("rlhf_run_iterations_waiting", "scored iterations waiting to train or sync");
  private final Gauge training = gauge("rlhf_run_training", "1 while the trainers train an iteration");
  private final Gauge samples = gauge("rlhf_run_samples", "samples (prompt × response) trained on so far");
  private final Gauge rowMetric = gauge("rlhf_run_metric", "the last metrics.jsonl row of the run", "metric");
  private final Gauge rolloutVersion = gauge("rlhf_rollout_weight_version", "weight version a rollout engine serves",
      "engine");
  private final Gauge rolloutInFlight = gauge("rlhf_rollout_requests_in_flight",
      "rollout requests accepted by an engine and not yet answered (queued or generating)", "engine");
  private final Gauge syncVersion = gauge("rlhf_weight_sync_version", "last weight version published to the engines");
  private final Counter syncBytes = Counter.builder().name("rlhf_weight_sync_bytes")
      .help("payload bytes × receivers of every weight version published").unit(null).register(registry);

  private NodeMetrics() {
    JvmMetrics.builder().register(registry);
  }

  /** The metrics of {@code system}'s node. */
  public static NodeMetrics get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  private Gauge gauge(String name, String help, String... labels) {
    return Gauge.builder().name(name).help(help).labelNames(labels).register(registry);
  }

  /** The registry, for tests and for exporters other than {@link #serve}. */
  public PrometheusRegistry registry() {
    return registry;
  }

  /** The roles this node runs. */
  public void roles(List<Role> roles) {
    roles.forEach(r -> role.labelValues(r.cliName()).set(1));
  }

  /** The run will train {@code iterations} iterations. */
  public void planned(int iterations) {
    planned.set(iterations);
  }

  /** The supervisor's metrics.jsonl row of iteration {@code step}, as it is logged (NaN values are skipped). */
  public void row(long step, Map<String, Double> row) {
    iteration.set(step);
    row.forEach((name, v) -> {
      if (v == null || !Double.isFinite(v)) {
        return;
      }
      rowMetric.labelValues(name).set(v);
      String phase = PHASES.get(name);
      if (phase != null) {
        phaseSeconds.labelValues(phase).set(v);
      } else if (name.equals("staleness")) {
        staleness.set(v);
      } else if (name.equals("samples_total")) {
        samples.set(v);
      }
    });
  }

  /** One value of the run's metrics that arrived after its row (an evaluation's mean reward). */
  public void metric(String name, double value) {
    if (Double.isFinite(value)) {
      rowMetric.labelValues(name).set(value);
    }
  }

  /** Where the supervisor's pipeline stands. */
  public void pipeline(int rolloutsInFlight, int scoredWaiting, boolean trainingNow, long trainer, long engines) {
    inFlight.set(rolloutsInFlight);
    waiting.set(scoredWaiting);
    training.set(trainingNow ? 1 : 0);
    trainerVersion.set(trainer);
    policyVersion.set(engines);
  }

  /** Rollout engine {@code engine} now serves weight version {@code version}. */
  public void rolloutVersion(String engine, long version) {
    rolloutVersion.labelValues(engine).set(version);
  }

  /** Rollout engine {@code engine} has {@code requests} requests accepted and not yet answered. */
  public void rolloutInFlight(String engine, int requests) {
    rolloutInFlight.labelValues(engine).set(requests);
  }

  /** Weight version {@code version} of {@code bytes} bytes reached {@code receivers} engines. */
  public void published(long version, long bytes, int receivers) {
    syncVersion.set(version);
    syncBytes.inc((double) bytes * receivers);
  }

  /**
   * Serves {@code /metrics} on {@code host}:{@code port} (0: any free port) until {@code system} terminates;
   * logs the URL and returns the bound port.
   *
   * @throws UncheckedIOException naming {@code --metrics_port} when the port cannot be bound
   */
  public int serve(ActorSystem<?> system, String host, int port) {
    HTTPServer server;
    try {
      server = HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart();
    } catch (IOException e) {
      throw new UncheckedIOException("--metrics_port " + port + ": cannot serve metrics on " + host + ": " + e, e);
    }
    system.getWhenTerminated().thenRun(server::close);
    LOG.info("Prometheus metrics at http://{}:{}/metrics", host.contains(":") ? "[" + host + "]" : host,
        server.getPort());
    return server.getPort();
  }

  /**
   * The {@code --metrics_port} setting: null when unset, else a port in 0..65535.
   *
   * @throws IllegalArgumentException one line naming the flag
   */
  public static Integer port(String value) {
    if (value == null || value.isBlank()) {
      return null;
    }
    String v = value.strip();
    if (!v.matches("\\d{1,5}") || Integer.parseInt(v) > 65_535) {
      throw new IllegalArgumentException("--metrics_port '" + value + "': expected a port 0..65535 (0 = any free port)");
    }
    return Integer.parseInt(v);
  }
}
