package org.rlhfnode.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launchers in {@code launch-scripts/} run against stand-ins: a fake node (a bash script in place of the
 * JVM that records its arguments, pid and signals and follows a plan per node and attempt) and, for the
 * Slurm script, fake {@code srun}, {@code scontrol} and {@code scancel}. The fakes synchronise through FIFOs
 * ({@code notify}/{@code await}), so every run is deterministic and no real node or network is involved.
 */
class LaunchScriptsTest {
  private static final Duration RUN = Duration.ofSeconds(30);
  /** Node i of the local cluster gets port BASE + i; the fake nodes never bind it. */
  private static final int BASE = 40000;
  /** Every node of the default three is a seed, node 0 first. */
  private static final String SEEDS = "--seed 127.0.0.1:" + BASE + ",127.0.0.1:" + (BASE + 1) + ",127.0.0.1:"
      + (BASE + 2);
  private static final String TWO_NODES = "supervisor=supervisor,trainer rollout=rollout";
  private static final String HOSTS = "fakeA,fakeB,fakeC";

  /**
   * The fake node. Its key is the value of the flag FAKE_KEY_FLAG names (--port: local, --host: Slurm); its
   * plan, FAKE_DIR/KEY.ATTEMPT or FAKE_DIR/KEY (default "block"), is a list of steps: notify KEY (a line to
   * KEY's control FIFO), await (read one from its own), kill9 NAME / readpid NAME (kill -9 / record the pid in
   * RLHF_LOG_DIR/NAME.pid), ignore-term, block (until stopped), exit CODE (137: kill -9 itself).
   */
  private static final String FAKE_NODE = """
      #!/usr/bin/env bash
      set -u
      key= prev=
      for arg in "$@"; do
        if [[ $prev == "$FAKE_KEY_FLAG" ]]; then key=$arg; fi
        prev=$arg
      done
      dir=$FAKE_DIR attempt=1
      fifo() { [[ -p $1 ]] || mkfifo "$1" 2> /dev/null || [[ -p $1 ]]; }
      trap 'echo "TERM $attempt" >> "$dir/$key.signals"; exit 143' TERM
      trap 'echo "INT $attempt" >> "$dir/$key.signals"; exit 130' INT
      if [[ -f $dir/$key.pids ]]; then attempt=$(( $(wc -l < "$dir/$key.pids") + 1 )); fi
      echo "$$" >> "$dir/$key.pids"
      printf '%s\\n' "$*" >> "$dir/$key.args"
      fifo "$dir/$key.ctl"
      exec 4<> "$dir/$key.ctl"
      plan=block
      if [[ -f $dir/$key.$attempt ]]; then plan=$(< "$dir/$key.$attempt")
      elif [[ -f $dir/$key ]]; then plan=$(< "$dir/$key"); fi
      read -r -a steps <<< "$plan"
      set -- "${steps[@]}"
      while (( $# > 0 )); do
        case $1 in
          notify) fifo "$dir/$2.ctl"; echo ready > "$dir/$2.ctl"; shift 2 ;;
          await) read -r _ <&4; shift ;;
          kill9) p=$(< "$RLHF_LOG_DIR/$2.pid"); echo "$p" >> "$dir/$key.killed"; kill -KILL "$p"; shift 2 ;;
          readpid) cat "$RLHF_LOG_DIR/$2.pid" >> "$dir/$key.readpid"; shift 2 ;;
          ignore-term) trap 'echo "TERM $attempt" >> "$dir/$key.signals"' TERM; shift ;;
          block) while :; do read -r _ <&4 || true; done ;;
          exit) if [[ $2 == 137 ]]; then kill -KILL $$; fi; exit "$2" ;;
          *) echo "fake node: unknown step $1" >&2; exit 99 ;;
        esac
      done
      """;
  /** srun: a task per host in its own session (Slurm signals all of a step), started once srun.tasks lists all. */
  private static final String SRUN = """
      #!/usr/bin/env bash
      set -u
      while [[ $1 == -* ]]; do echo "$1" >> "$FAKE_DIR/srun.options"; shift; done
      IFS=, read -r -a hosts <<< "$SLURM_JOB_NODELIST"
      gate=$FAKE_DIR/srun.gate
      mkfifo "$gate"
      exec 5<> "$gate"
      tasks=()
      for host in "${hosts[@]}"; do
        SLURMD_NODENAME=$host SLURM_STEP_ID=0 setsid bash -c 'read -r _ < "$0" && exec "$@"' "$gate" "$@" 5<&- &
        tasks+=("$!")
      done
      echo "${tasks[*]}" > "$FAKE_DIR/srun.tasks"
      for task in "${tasks[@]}"; do echo go >&5; done
      rc=0
      for task in "${tasks[@]}"; do
        code=0
        wait "$task" || code=$?
        echo "$code" >> "$FAKE_DIR/srun.exits"
        if (( code > rc )); then rc=$code; fi
      done
      exit "$rc"
      """;
  /** scancel --signal=TERM JOB.STEP: TERM to every process of every task. */
  private static final String SCANCEL = """
      #!/usr/bin/env bash
      echo "$*" >> "$FAKE_DIR/scancel.args"
      if [[ $1 == --signal=TERM ]]; then
        for task in $(< "$FAKE_DIR/srun.tasks"); do kill -TERM -- "-$task" 2> /dev/null || true; done
      fi
      """;
  private static final String SCONTROL = "#!/usr/bin/env bash\ntr , '\\n' <<< \"$3\"\n";

  @TempDir Path dir;
  private Path fake; // the fakes' records, plans and FIFOs
  private Path conf;
  private Process launcher;

  @BeforeEach
  void writeFakes() throws IOException {
    assumeTrue(onPath("bash") && onPath("setsid") && onPath("mkfifo"), "needs bash, setsid and mkfifo");
    fake = Files.createDirectories(dir.resolve("fake"));
    conf = Files.writeString(dir.resolve("run.conf"), "# fake run\n");
    executable(dir.resolve("fake-node"), FAKE_NODE);
    executable(dir.resolve("bin/srun"), SRUN);
    executable(dir.resolve("bin/scancel"), SCANCEL);
    executable(dir.resolve("bin/scontrol"), SCONTROL);
    Files.writeString(dir.resolve("rlhf-node.jar"), "");
  }

  @AfterEach
  void stopLeftovers() {
    if (launcher != null) {
      launcher.descendants().forEach(ProcessHandle::destroyForcibly);
      launcher.destroyForcibly();
    }
  }

  @Test
  void restartsANodeKilledWithKill9WithTheSameCommandLine() throws Exception {
    plan(BASE + 1, "notify " + BASE + " block");
    // the supervisor plays the test harness: kill -9 $(cat rollout.pid), then reads the pid file again
    plan(BASE, "await kill9 rollout await readpid rollout exit 0");
    Run run = local(Map.of("RLHF_NODES", TWO_NODES));
    assertEquals(0, run.code, run.output);
    List<String> args = lines(BASE + 1 + ".args");
    assertEquals(2, args.size(), run.output);
    assertEquals(args.get(0), args.get(1));
    List<String> pids = lines(BASE + 1 + ".pids");
    assertEquals(List.of(pids.get(0)), lines(BASE + ".killed"), "rollout.pid held the first JVM's pid");
    assertEquals(List.of(pids.get(1)), lines(BASE + ".readpid"), "rollout.pid holds the restarted JVM's pid");
    assertNotEquals(pids.get(0), pids.get(1));
    assertEquals(List.of("restarting rollout (exit 137), restart 1 of 3"), restartLines(run));
    assertTrue(Files.readString(dir.resolve("logs/rollout.log")).contains("restart 1 of 3 of rollout after exit 137"));
  }

  @Test
  void doesNotRestartANodeThatExitsWithBadInput() throws Exception {
    plan(BASE, "notify " + (BASE + 1) + " block");
    plan(BASE + 1, "await exit 2");
    Run run = local(Map.of("RLHF_NODES", TWO_NODES));
    assertEquals(2, run.code, run.output);
    assertEquals(1, lines(BASE + 1 + ".pids").size());
    assertEquals(List.of(), restartLines(run));
    assertEquals(List.of("TERM 1"), lines(BASE + ".signals"), "the supervisor's node is stopped with TERM");
  }

  @Test
  void stopsAllNodesWithTheCodeOfANodeThatHasNoRestartsLeft() throws Exception {
    plan(BASE, "notify " + (BASE + 1) + " block");
    plan((BASE + 1) + ".1", "await exit 137");
    plan(BASE + 1, "exit 137");
    Run run = local(Map.of("RLHF_NODES", TWO_NODES, "RLHF_MAX_RESTARTS", "2"));
    assertEquals(137, run.code, run.output);
    assertEquals(3, lines(BASE + 1 + ".pids").size());
    assertEquals(List.of("restarting rollout (exit 137), restart 1 of 2", "restarting rollout (exit 137), restart 2 of 2"),
        restartLines(run));
    assertTrue(run.output.contains("no restarts left"), run.output);
    assertEquals(List.of("TERM 1"), lines(BASE + ".signals"));
  }

  @Test
  void supervisorExitZeroStopsTheOtherNodesWithTermAndIsTheExitCode() throws Exception {
    plan(BASE, "await await exit 0");
    plan(BASE + 1, "notify " + BASE + " block");
    plan(BASE + 2, "notify " + BASE + " block");
    Run run = local(Map.of());
    assertEquals(0, run.code, run.output);
    assertEquals(List.of("TERM 1"), lines(BASE + 1 + ".signals"));
    assertEquals(List.of("TERM 1"), lines(BASE + 2 + ".signals"));
    assertFalse(Files.exists(fake.resolve(BASE + ".signals")));
    assertEquals(List.of(), restartLines(run));
    for (String name : List.of("supervisor", "rollout", "scorers")) {
      assertTrue(Files.exists(dir.resolve("logs/" + name + ".log")), name);
      assertFalse(Files.exists(dir.resolve("logs/" + name + ".pid")), name + ".pid is removed at the end");
    }
  }

  @Test
  void everyNodeGetsEveryNodeAsSeed() throws Exception {
    plan(BASE, "await await exit 0");
    plan(BASE + 1, "notify " + BASE + " block");
    plan(BASE + 2, "notify " + BASE + " block");
    Run run = local(Map.of(), "--threads", "2");
    assertEquals(0, run.code, run.output);
    String tail = " " + SEEDS + " --config " + conf + " --threads 2";
    assertEquals(List.of("--role supervisor,trainer --host 127.0.0.1 --port " + BASE + tail), lines(BASE + ".args"));
    assertEquals(List.of("--role rollout --host 127.0.0.1 --port " + (BASE + 1) + tail), lines(BASE + 1 + ".args"));
    assertEquals(List.of("--role reward,reference,critic --host 127.0.0.1 --port " + (BASE + 2) + tail),
        lines(BASE + 2 + ".args"));
  }

  @Test
  void aSingleNodeGetsNoSeed() throws Exception {
    plan(BASE, "exit 0");
    Run run = local(Map.of("RLHF_NODES", "all"));
    assertEquals(0, run.code, run.output);
    assertEquals(List.of("--role all --host 127.0.0.1 --port " + BASE + " --config " + conf), lines(BASE + ".args"));
    assertTrue(Files.exists(dir.resolve("logs/node0.log")));
  }

  @Test
  void supervisorRunFailureIsNotRestartedAndIsTheExitCode() throws Exception {
    plan(BASE, "await exit 1");
    plan(BASE + 1, "notify " + BASE + " block");
    Run run = local(Map.of("RLHF_NODES", TWO_NODES));
    assertEquals(1, run.code, run.output);
    assertEquals(1, lines(BASE + ".pids").size());
    assertEquals(List.of(), restartLines(run));
    assertEquals(List.of("TERM 1"), lines(BASE + 1 + ".signals"));
  }

  @Test
  void killsANodeThatIgnoresTermAfterTheGrace() throws Exception {
    plan(BASE, "await exit 0");
    plan(BASE + 1, "ignore-term notify " + BASE + " block");
    Run run = local(Map.of("RLHF_NODES", TWO_NODES, "RLHF_STOP_GRACE", "1"));
    assertEquals(0, run.code, run.output);
    assertEquals(List.of("TERM 1"), lines(BASE + 1 + ".signals"));
    long rollout = Long.parseLong(lines(BASE + 1 + ".pids").get(0));
    assertFalse(ProcessHandle.of(rollout).map(ProcessHandle::isAlive).orElse(false), "killed after the grace");
  }

  @Test
  void termToTheLauncherStopsEveryNodeAndRestartsNothing() throws Exception {
    plan(BASE, "notify harness block");
    plan(BASE + 1, "notify harness block");
    // a harness shell starts the launcher, waits until both nodes are up and sends it TERM
    Path harness = Files.writeString(dir.resolve("harness.sh"), """
        set -eu
        mkfifo "$FAKE_DIR/harness.ctl"
        exec 5<> "$FAKE_DIR/harness.ctl"
        bash "$@" 5<&- &
        launcher=$!
        read -r -t 20 _ <&5
        read -r -t 20 _ <&5
        kill -TERM "$launcher"
        wait "$launcher"
        """);
    Run run = run(List.of("bash", harness.toString(), script("local-cluster.sh").toString(), conf.toString()),
        localEnv(Map.of("RLHF_NODES", TWO_NODES)));
    assertEquals(143, run.code, run.output);
    assertEquals(List.of("TERM 1"), lines(BASE + ".signals"));
    assertEquals(List.of("TERM 1"), lines(BASE + 1 + ".signals"));
    assertEquals(List.of(), restartLines(run));
  }

  @Test
  void refusesNodesWithoutExactlyOneSupervisor() throws Exception {
    Run none = local(Map.of("RLHF_NODES", "rollout critic"));
    assertEquals(2, none.code, none.output);
    assertTrue(none.output.contains("no node has the supervisor role"), none.output);
    Run two = local(Map.of("RLHF_NODES", "a=supervisor b=all"));
    assertEquals(2, two.code, two.output);
    assertFalse(Files.exists(fake.resolve(BASE + ".args")), "no node was started");
  }

  @Test
  void slurmSupervisorNodeFinishingStopsTheOtherTasksWithTerm() throws Exception {
    plan("fakeA", "await await exit 0");
    plan("fakeB", "notify fakeA block");
    plan("fakeC", "notify fakeA block");
    Run run = slurm();
    assertEquals(0, run.code, run.output);
    assertEquals(List.of("--signal=TERM 4242.0"), lines("scancel.args"));
    assertEquals(List.of("0", "0", "0"), lines("srun.exits"), "stopped tasks report 0, node 0 its java's 0");
    assertTrue(lines("fakeB.signals").contains("TERM 1"));
    assertTrue(lines("fakeC.signals").contains("TERM 1"));
    assertFalse(Files.exists(fake.resolve("fakeA.signals")), "node 0's java had already ended");
    assertTrue(lines("srun.options").containsAll(List.of("--kill-on-bad-exit=0", "--wait=300")));
    for (String host : List.of("fakeA", "fakeB", "fakeC")) {
      assertEquals(1, lines(host + ".args").size(), host + " is not restarted");
      assertTrue(lines(host + ".args").get(0).contains("--host " + host + " --port 2552 --seed fakeA:2552,fakeB:2552,fakeC:2552"
          + " --secure --keys " + dir.resolve("job-keys")), lines(host + ".args").get(0));
      assertFalse(Files.exists(dir.resolve("logs/rlhf-node-" + host + ".pid")));
    }
  }

  @Test
  void slurmRestartsANodeThatWasKilled() throws Exception {
    plan("fakeA", "await await exit 0");
    plan("fakeB.1", "exit 137");
    plan("fakeB", "notify fakeA block");
    plan("fakeC", "notify fakeA block");
    Run run = slurm();
    assertEquals(0, run.code, run.output);
    List<String> args = lines("fakeB.args");
    assertEquals(2, args.size(), run.output);
    assertEquals(args.get(0), args.get(1));
    assertEquals(List.of("restarting fakeB (exit 137), restart 1 of 3"), restartLines(run));
  }

  @Test
  void slurmNodeFailingForGoodStopsTheStepAndFailsTheJob() throws Exception {
    plan("fakeA", "notify fakeB block");
    plan("fakeB", "await await exit 2");
    plan("fakeC", "notify fakeB block");
    Run run = slurm();
    assertEquals(2, run.code, run.output);
    assertEquals(List.of("--signal=TERM 4242.0"), lines("scancel.args"));
    assertTrue(lines("fakeA.signals").contains("TERM 1"));
    assertTrue(lines("fakeC.signals").contains("TERM 1"));
    assertEquals(List.of(), restartLines(run));
  }

  private record Run(int code, String output) {}

  private Run local(Map<String, String> env, String... extra) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("bash", script("local-cluster.sh").toString(), conf.toString()));
    cmd.addAll(List.of(extra));
    return run(cmd, localEnv(env));
  }

  private Map<String, String> localEnv(Map<String, String> env) {
    Map<String, String> all = new HashMap<>(Map.of("RLHF_NODE_CMD", dir.resolve("fake-node").toString(),
        "RLHF_BASE_PORT", String.valueOf(BASE), "FAKE_KEY_FLAG", "--port", "RLHF_STOP_GRACE", "10"));
    all.putAll(env);
    return all;
  }

  private Run slurm() throws Exception {
    // more than one node: mutual TLS by default, with the job's keys, here made beforehand (the fake java
    // cannot run `rlhf-node keys`), so the launcher hands them to every node as they are
    Path keys = Files.createDirectories(dir.resolve("job-keys"));
    Files.writeString(keys.resolve("tls.key"), "fake");
    Run run = run(List.of("bash", script("slurm/ppo.sbatch").toString(), conf.toString()), Map.of(
        "PATH", dir.resolve("bin") + ":" + System.getenv("PATH"), "SLURM_JOB_ID", "4242",
        "SLURM_JOB_NODELIST", HOSTS, "JAVA", dir.resolve("fake-node").toString(),
        "RLHF_NODE_JAR", dir.resolve("rlhf-node.jar").toString(), "FAKE_KEY_FLAG", "--host",
        "RLHF_KEYS", keys.toString()));
    assertTrue(run.output().contains("mutual TLS between the nodes, keys in " + keys), run.output());
    return run;
  }

  /** Runs a launcher in the temp dir with the fakes' settings plus {@code env}; at most {@link #RUN}. */
  private Run run(List<String> cmd, Map<String, String> env) throws Exception {
    Path out = dir.resolve("launcher.out");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(out.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("RLHF_") || k.startsWith("SLURM") || k.startsWith("JAVA"));
    pb.environment().putAll(Map.of("FAKE_DIR", fake.toString(), "RLHF_LOG_DIR", dir.resolve("logs").toString(),
        "RLHF_RESTART_BACKOFF", "0"));
    pb.environment().putAll(env);
    launcher = pb.start();
    boolean done = launcher.waitFor(RUN.toMillis(), TimeUnit.MILLISECONDS);
    String output = Files.readString(out);
    assertTrue(done, "launcher still running after " + RUN + ":\n" + output);
    return new Run(launcher.exitValue(), output);
  }

  /** What the fake node KEY (or KEY.ATTEMPT) does: see {@link #FAKE_NODE}. */
  private void plan(Object key, String steps) throws IOException {
    Files.writeString(fake.resolve(key.toString()), steps + "\n");
  }

  private List<String> lines(String file) throws IOException {
    Path path = fake.resolve(file);
    return Files.exists(path) ? Files.readAllLines(path) : List.of();
  }

  private static List<String> restartLines(Run run) {
    return run.output.lines().map(l -> l.replaceFirst("^\\d+: ", "")).filter(l -> l.startsWith("restarting ")).toList();
  }

  private static void executable(Path path, String text) throws IOException {
    Files.createDirectories(path.getParent());
    Files.writeString(path, text);
    Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static boolean onPath(String command) {
    String path = System.getenv("PATH");
    return path != null && Arrays.stream(path.split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, command)));
  }

  /** The launcher script {@code name} under launch-scripts/, found from the working directory upwards. */
  private static Path script(String name) {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path candidate = d.resolve("launch-scripts").resolve(name);
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    throw new AssertionError("launch-scripts/" + name + " not found above " + Path.of("").toAbsolutePath());
  }
}
