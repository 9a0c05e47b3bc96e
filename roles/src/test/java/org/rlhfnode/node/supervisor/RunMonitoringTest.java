package org.rlhfnode.node.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.rlhfnode.messages.Role;
import org.rlhfnode.node.metrics.NodeMetrics;
import org.rlhfnode.runtime.metrics.MetricsFile;
import org.rlhfnode.runtime.metrics.MetricsRow;
import org.rlhfnode.runtime.metrics.TensorBoardWriter;

/**
 * What a user watching a PPO run sees, against scripted roles: the node's Prometheus endpoint carries the
 * run's iteration, versions, pipeline state and the last row's metrics; --use_tensorboard writes one event
 * per metrics.jsonl row.
 */
class RunMonitoringTest extends ScriptedRunTest {
  private static final int ITERATIONS = 3;

  @Test
  void prometheusScrapeShowsTheRunAndTensorBoardGetsEveryRow() throws Exception {
    new ScriptedRoles(kit, "a").standard();
    NodeMetrics metrics = NodeMetrics.get(kit.system());
    metrics.roles(List.of(Role.SUPERVISOR, Role.ROLLOUT));
    int port = metrics.serve(kit.system(), "127.0.0.1", 0);
    assertTrue(port > 0, "port 0 binds a free port: " + port);
    Path save = tmp.resolve("watched");
    Path events = tmp.resolve("tb");
    TestProbe<Supervisor.Outcome> outcome = kit.createTestProbe();
    start(settings(save, ITERATIONS, "--use_tensorboard", events.toString()), outcome);
    Supervisor.Outcome o = outcome.expectMessageClass(Supervisor.Outcome.class, WAIT);
    assertTrue(o.ok(), o.error());

    Map<String, Double> scraped = scrape(port);
    List<MetricsRow> rows = MetricsFile.read(save.resolve(MetricsFile.FILE_NAME));
    MetricsRow last = rows.get(rows.size() - 1);
    assertEquals(1.0, scraped.get("rlhf_node_role{role=\"supervisor\"}"));
    assertEquals(1.0, scraped.get("rlhf_node_role{role=\"rollout\"}"));
    assertEquals(ITERATIONS, scraped.get("rlhf_run_iteration"));
    assertEquals(ITERATIONS, scraped.get("rlhf_run_iterations_planned"));
    assertEquals(ITERATIONS, scraped.get("rlhf_run_policy_version"), "version 3 on the engines");
    assertEquals(ITERATIONS, scraped.get("rlhf_run_trainer_version"));
    assertEquals(0.0, scraped.get("rlhf_run_iterations_in_flight"));
    assertEquals(0.0, scraped.get("rlhf_run_iterations_waiting"));
    assertEquals(0.0, scraped.get("rlhf_run_training"));
    assertEquals(0.0, scraped.get("rlhf_run_staleness"));
    assertEquals(4.0 * ITERATIONS, scraped.get("rlhf_run_samples"), "2 prompts × 2 samples per iteration");
    assertEquals(last.get("reward_mean"), scraped.get("rlhf_run_metric{metric=\"reward_mean\"}"), 1e-9);
    assertEquals(0.5, scraped.get("rlhf_run_metric{metric=\"policy_loss\"}"));
    assertEquals(last.get("time_train"), scraped.get("rlhf_run_phase_seconds{phase=\"train\"}"), 1e-9);
    assertEquals(last.get("time_generate"), scraped.get("rlhf_run_phase_seconds{phase=\"generate\"}"), 1e-9);
    assertTrue(scraped.get("process_resident_memory_bytes") > 1e6, "process memory");
    assertTrue(scraped.get("jvm_memory_used_bytes{area=\"heap\"}") > 0, "JVM heap");

    List<Path> files;
    try (Stream<Path> list = Files.list(events)) {
      files = list.toList();
    }
    assertEquals(1, files.size(), files.toString());
    assertTrue(files.get(0).getFileName().toString().startsWith(TensorBoardWriter.PREFIX));
    assertEquals(2 + rows.size(), records(files.get(0)), "file_version, session start, one event per row");
  }

  @Test
  void metricsPortIsCheckedWithOneLineNamingTheFlag() {
    assertEquals(null, NodeMetrics.port(null));
    assertEquals(0, NodeMetrics.port("0"));
    assertEquals(9100, NodeMetrics.port(" 9100 "));
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> NodeMetrics.port("70000"));
    assertEquals("--metrics_port '70000': expected a port 0..65535 (0 = any free port)", e.getMessage());
  }

  /** Sample name with labels → value, from the Prometheus text format; comments skipped. */
  private static Map<String, Double> scrape(int port) throws IOException, InterruptedException {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
    Map<String, Double> out = new LinkedHashMap<>();
    for (String line : r.body().split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      out.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    }
    return out;
  }

  /** How many TFRecords the file holds (framing only; the content is checked in the runtime's tests). */
  private static int records(Path file) throws IOException {
    ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    int n = 0;
    while (in.hasRemaining()) {
      long length = in.getLong();
      in.position(in.position() + 4 + (int) length + 4);
      n++;
    }
    return n;
  }
}
