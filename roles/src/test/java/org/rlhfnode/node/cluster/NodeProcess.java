package org.rlhfnode.node.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.rlhfnode.node.Main;

/** An {@code rlhf-node} JVM started from the test class path, its output in a log file. */
final class NodeProcess implements AutoCloseable {
  private final Process process;
  private final Path log;

  private NodeProcess(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** Starts {@code Main} with {@code args}, logging to {@code log}. */
  static NodeProcess start(Path log, List<String> args) {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    cmd.addAll(args);
    try {
      Files.createDirectories(log.getParent());
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
      pb.environment().put("RLHF_PROGRESS", "plain");
      return new NodeProcess(pb.start(), log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The exit code, waiting at most {@code timeout}; the process is killed after that. */
  int waitFor(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("node did not finish within " + timeout + "; log " + log + ":\n" + tail());
    }
    return process.exitValue();
  }

  /**
   * Waits until the log has a line containing {@code text} (a run's progress), checking every 100 ms; fails
   * after {@code timeout} or when the process exits first.
   */
  void awaitLine(String text, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!log().contains(text)) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("no line with '" + text + "' in " + log + " (alive " + process.isAlive() + "):\n"
            + tail());
      }
      process.waitFor(100, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Waits until {@code save}'s metrics.jsonl holds at least {@code n} rows (they drop back at a rollback),
   * checking every 100 ms while this process runs.
   */
  void awaitRows(Path save, int n, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Path metrics = save.resolve(org.rlhfnode.runtime.metrics.MetricsFile.FILE_NAME);
    while (org.rlhfnode.runtime.metrics.MetricsFile.read(metrics).size() < n) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("no row " + n + " in " + metrics + " (alive " + process.isAlive() + "):\n" + tail());
      }
      process.waitFor(100, TimeUnit.MILLISECONDS);
    }
  }

  /** Kills the process as {@code kill -9} does and waits for it to be gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  /** Sends TERM (as Slurm or Ctrl-C would). */
  void terminate() {
    process.destroy();
  }

  /** The process id. */
  long pid() {
    return process.pid();
  }

  /** The whole log. */
  String log() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "";
    }
  }

  /** The last lines of the log, for failure messages. */
  String tail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** A TCP port that was free a moment ago. */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
