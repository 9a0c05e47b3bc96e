package org.rlhfnode.node.supervisor;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.rlhfnode.node.metrics.NodeMetrics;
import org.rlhfnode.runtime.metrics.MetricsFile;
import org.rlhfnode.runtime.metrics.MetricsRow;
import org.rlhfnode.runtime.metrics.MetricsWriter;
import org.rlhfnode.runtime.metrics.ProgressDisplay;
import org.rlhfnode.runtime.metrics.RunReport;
import org.rlhfnode.runtime.metrics.Summary;
import org.rlhfnode.runtime.metrics.TensorBoardWriter;
import org.slf4j.Logger;

/**
 * The PPO run's record: one {@code metrics.jsonl} line per iteration (step = iteration, 1-based) in
 * order, with the iteration's numbers, the run's totals and the held-out reward of the evaluation that
 * follows it when one is due (step 0 holds the evaluation of the starting policy); the same rows as
 * TensorBoard events with {@code --use_tensorboard} (a new event file at each restore); an INFO line, the
 * progress bar and the node's Prometheus gauges ({@link NodeMetrics}) per iteration; at the end
 * {@code report.html} and a summary on stdout.
 */
final class RunLog implements AutoCloseable {
  private final Path saveDir;
  private final Path tensorBoard; // or null
  private final NodeMetrics gauges;
  private MetricsWriter writer;
  private final ProgressDisplay progress;
  private final Logger log;
  private final int iterations;
  private final long startNanos = System.nanoTime();
  private final TreeMap<Integer, Map<String, Double>> waiting = new TreeMap<>(); // rows not yet written, in order
  private final Set<Integer> evalPending = new HashSet<>(); // rows held until their evaluation reports
  private long samplesTotal;
  private long lastDoneNanos = startNanos;
  private boolean finished;

  /**
   * Writes nothing until {@link #restore} says where the run starts.
   *
   * @param tensorBoard the {@code --use_tensorboard} directory, or null
   */
  RunLog(Path saveDir, Path tensorBoard, int iterations, Logger log, NodeMetrics gauges) {
    this.saveDir = saveDir;
    this.tensorBoard = tensorBoard;
    this.gauges = gauges;
    gauges.planned(iterations);
    this.progress = ProgressDisplay.onStderr("ppo", iterations, 0).showing("reward");
    this.log = log;
    this.iterations = iterations;
  }

  /**
   * The run (re)starts after iteration {@code iteration}: {@code metrics.jsonl} becomes the copy the
   * checkpoint holds ({@code checkpointMetrics}; null for the initial state, which empties it), rows held
   * for evaluations are dropped, and the sample count is {@code samplesTotal}.
   */
  void restore(Path checkpointMetrics, int iteration, long samplesTotal) {
    if (writer != null) {
      writer.close();
    }
    writer = MetricsWriter.restore(saveDir, checkpointMetrics, iteration);
    if (tensorBoard != null) {
      writer.alsoTo(TensorBoardWriter.open(tensorBoard, iteration == 0 ? 0 : iteration + 1));
    }
    waiting.clear();
    evalPending.clear();
    this.samplesTotal = samplesTotal;
    lastDoneNanos = System.nanoTime();
  }

  /** The run's metrics file. */
  Path metricsFile() {
    return saveDir.resolve(MetricsFile.FILE_NAME);
  }

  void countSamples(int n) {
    samplesTotal += n;
  }

  long samplesTotal() {
    return samplesTotal;
  }

  /** Whether every row through {@code iteration} is in the file (none waits for an evaluation). */
  boolean writtenThrough(int iteration) {
    return waiting.isEmpty() || waiting.firstKey() > iteration;
  }

  /** Writes the rows held for evaluations that will not come (the run stops); their eval reward stays null. */
  void flushWaiting() {
    evalPending.clear();
    flush(true);
  }

  /** Iteration {@code it} is trained and its weights are on the rollout engines as {@code version}. */
  void iterationDone(Iteration it, long version, boolean awaitEval) {
    long now = System.nanoTime();
    Map<String, Double> row = new LinkedHashMap<>(it.metrics());
    row.put("policy_version", (double) version);
    row.put("samples_total", (double) samplesTotal);
    row.put("time_iteration", (now - lastDoneNanos) / 1e9);
    lastDoneNanos = now;
    log.info(String.format(Locale.ROOT, "iteration %d/%d v%d reward %.4f kl %.5f policy_loss %.4f value_loss %.4f"
        + " len %.1f | generate %.2fs score %.2fs train %.2fs sync %.2fs", it.index() + 1, iterations, version,
        row.get("reward_mean"), row.get("kl"), row.get("policy_loss"), row.get("value_loss"),
        row.get("response_length"), row.get("time_generate"), row.get("time_score"), row.get("time_train"),
        row.get("time_sync")));
    progress.update(it.index() + 1, row.get("reward_mean"));
    gauges.row(it.index() + 1, row);
    if (awaitEval) {
      row.put("eval_reward_mean", Double.NaN); // written as null if the evaluation never reports
      evalPending.add(it.index() + 1);
    }
    waiting.put(it.index() + 1, row);
    flush(false);
  }

  /**
   * The starting policy will be evaluated: its row (step 0) is held, and the iterations' rows wait
   * behind it, so the file stays in step order whichever finishes first.
   */
  void expectStartEvaluation() {
    Map<String, Double> row = new LinkedHashMap<>();
    row.put("iteration", 0.0);
    row.put("policy_version", 0.0);
    row.put("eval_reward_mean", Double.NaN);
    waiting.put(0, row);
    evalPending.add(0);
  }

  /** The held-out mean reward after iteration {@code iteration} (0 = before training). */
  void evaluated(int iteration, double mean) {
    log.info(String.format(Locale.ROOT, "eval after iteration %d: reward %.4f", iteration, mean));
    gauges.metric("eval_reward_mean", mean);
    Map<String, Double> row = waiting.get(iteration);
    if (row != null) {
      row.put("eval_reward_mean", mean);
    }
    evalPending.remove(iteration);
    flush(false);
  }

  /** Where the pipeline stands, for the node's gauges. */
  void pipeline(Pipeline p) {
    gauges.pipeline(p.rolloutsInFlight(), p.scoredWaiting(), p.training(), p.trainerVersion(), p.syncedVersion());
  }

  private void flush(boolean all) {
    while (!waiting.isEmpty()) {
      Map.Entry<Integer, Map<String, Double>> first = waiting.firstEntry();
      if (!all && evalPending.contains(first.getKey())) {
        return;
      }
      writer.log(first.getKey(), first.getValue());
      waiting.pollFirstEntry();
    }
  }

  /**
   * Writes what is held, the report and the summary. A run that never started (refused, or stopped before
   * {@link #restore}) leaves {@code save_path} as it was: an earlier run's report is not overwritten.
   */
  void finish() {
    if (finished) {
      return;
    }
    finished = true;
    progress.finish();
    if (writer == null) {
      return;
    }
    flush(true);
    Duration elapsed = Duration.ofNanos(System.nanoTime() - startNanos);
    List<MetricsRow> rows = MetricsFile.read(saveDir.resolve(MetricsFile.FILE_NAME));
    Summary summary = Summary.of(rows, elapsed);
    Path report = RunReport.write(saveDir, rows, summary);
    System.out.println(summary.format());
    System.out.println("  report      " + report);
    System.out.flush();
  }

  @Override
  public void close() {
    progress.close();
    if (writer != null) {
      writer.close();
    }
  }
}
