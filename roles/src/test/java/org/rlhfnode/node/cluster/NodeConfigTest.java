package org.rlhfnode.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.messages.FrameGuard;
import org.rlhfnode.messages.Role;

/** Address parsing with one-line errors, and the layering of flags, properties, run file and cluster file. */
class NodeConfigTest {
  private static final NodeAddress SELF = new NodeAddress("10.0.0.5", 2600);
  private static final String STABLE_AFTER = "pekko.cluster.split-brain-resolver.stable-after";
  private static final String PORT = "pekko.remote.artery.canonical.port";

  @Test
  void parsesHostPortAndBracketedIpv6() {
    assertEquals(new NodeAddress("node-3.cluster", 2552), NodeAddress.parse("node-3.cluster:2552"));
    assertEquals(new NodeAddress("::1", 2553), NodeAddress.parse(" [::1]:2553 "));
    assertEquals("[::1]:2553", new NodeAddress("::1", 2553).toString());
    assertEquals("10.0.0.5:2600", SELF.toString());
  }

  @Test
  void rejectsSeedWithoutPortInOneLineNamingTheFlag() {
    assertEquals("--seed 'foo': expected host:port", message(() -> NodeAddress.parse("foo")));
    assertEquals("--seed ':2552': expected host:port (the host is empty)", message(() -> NodeAddress.parse(":2552")));
    assertEquals("--seed 'a:b': expected host:port (the port must be a number)",
        message(() -> NodeAddress.parse("a:b")));
    assertEquals("rlhf.cluster.seeds 'foo': expected host:port",
        message(() -> NodeAddress.parse("foo", NodeConfig.SEEDS_PATH)));
  }

  @Test
  void rejectsSeedPortsOutsideOneTo65535() {
    assertEquals("--seed 'h:0': port 0 is outside 1..65535", message(() -> NodeAddress.parse("h:0")));
    assertEquals("--seed 'h:70000': port 70000 is outside 1..65535", message(() -> NodeAddress.parse("h:70000")));
    assertEquals("--seed '::1:2552': expected host:port (write an IPv6 host as [addr]:port)",
        message(() -> NodeAddress.parse("::1:2552")));
  }

  @Test
  void ownAddressAllowsPortZeroButNotOutOfRangePorts() {
    assertEquals(0, NodeAddress.self("127.0.0.1", 0).port());
    assertEquals("--port 70000: expected 0..65535 (0 = any free port)",
        message(() -> NodeAddress.self("127.0.0.1", 70000)));
    assertEquals("--host 'a b': the host contains ' '", message(() -> NodeAddress.self("a b", 2552)));
  }

  @Test
  void parseAllSplitsCommaListsAndDropsDuplicates() {
    List<NodeAddress> seeds = NodeAddress.parseAll(List.of("a:1,b:2", "a:1", "c:3"), "--seed");
    assertEquals(List.of(new NodeAddress("a", 1), new NodeAddress("b", 2), new NodeAddress("c", 3)), seeds);
    assertEquals("--seed '': expected host:port", message(() -> NodeAddress.parseAll(List.of("a:1,"), "--seed")));
  }

  @Test
  void flagsSetAddressSeedsAndRoles() {
    Config config = NodeConfig.forNode(SELF, List.of(new NodeAddress("head", 2552)), List.of("rollout", "reward"));
    assertEquals("10.0.0.5", config.getString("pekko.remote.artery.canonical.hostname"));
    assertEquals(2600, config.getInt(PORT));
    assertEquals(List.of("head:2552"), config.getStringList(NodeConfig.SEEDS_PATH));
    assertEquals(List.of("rollout", "reward"), config.getStringList("pekko.cluster.roles"));
  }

  @Test
  void noSeedFlagLeavesTheFileListSoTheNodeIsItsOwnSeed() {
    assertEquals(List.of(), NodeConfig.forNode(SELF, List.of(), List.of("rollout")).getStringList(NodeConfig.SEEDS_PATH));
    Config run = ConfigFactory.parseString("rlhf.cluster.seeds = [\"head:2552\"], pekko.cluster.roles = [critic]");
    Config fromFile = NodeConfig.forNode(SELF, List.of(), List.of(), run);
    assertEquals(List.of("head:2552"), fromFile.getStringList(NodeConfig.SEEDS_PATH));
    assertEquals(List.of("critic"), fromFile.getStringList("pekko.cluster.roles"));
  }

  @Test
  void badSeedInTheRunFileFailsBeforeAnySystemStarts() {
    Config run = ConfigFactory.parseString("rlhf.cluster.seeds = [\"head\"]");
    assertEquals("rlhf.cluster.seeds 'head': expected host:port",
        message(() -> NodeConfig.forNode(SELF, List.of(), List.of("rollout"), run)));
  }

  @Test
  void flagBeatsPropertyBeatsRunFileBeatsClusterFileBeatsReference() {
    Config properties = ConfigFactory.parseString(PORT + " = 9000\n" + STABLE_AFTER + " = 7s");
    Config run = ConfigFactory.parseString(PORT + " = 9001\n" + STABLE_AFTER + " = 6s\n"
        + "pekko.cluster.failure-detector.acceptable-heartbeat-pause = 4s");
    Config config = NodeConfig.layered(NodeConfig.flags(SELF, List.of(), List.of()), properties, run);
    assertEquals(2600, config.getInt(PORT));
    assertEquals(Duration.ofSeconds(7), config.getDuration(STABLE_AFTER));
    assertEquals(Duration.ofSeconds(4), config.getDuration("pekko.cluster.failure-detector.acceptable-heartbeat-pause"));
    Config plain = NodeConfig.layered(ConfigFactory.empty(), ConfigFactory.empty(), ConfigFactory.empty());
    assertEquals(Duration.ofSeconds(5), plain.getDuration(STABLE_AFTER));
    assertEquals(2552, plain.getInt(PORT));
    assertEquals(3072, plain.getInt("pekko.remote.artery.advanced.outbound-message-queue-size")); // Pekko reference
  }

  @Test
  void clusterFileConfiguresDowningShutdownAndSingletonRole() {
    Config config = NodeConfig.forNode(SELF, List.of(), List.of("supervisor"));
    assertEquals("cluster", config.getString("pekko.actor.provider"));
    assertEquals("org.apache.pekko.cluster.sbr.SplitBrainResolverProvider",
        config.getString("pekko.cluster.downing-provider-class"));
    assertEquals("keep-majority", config.getString("pekko.cluster.split-brain-resolver.active-strategy"));
    assertEquals(Duration.ofSeconds(2), config.getDuration("pekko.cluster.failure-detector.acceptable-heartbeat-pause"));
    assertTrue(config.getBoolean("pekko.coordinated-shutdown.exit-jvm"));
    assertTrue(config.getBoolean("pekko.cluster.jmx.multi-mbeans-in-same-jvm"));
    assertEquals(Role.SUPERVISOR.cliName(), config.getString("pekko.cluster.singleton.role"));
    assertEquals(List.of(), config.getStringList("pekko.cluster.seed-nodes"));
  }

  @Test
  void largeLaneCarriesFourMebibyteWeightChunks() {
    Config config = NodeConfig.forNode(SELF, List.of(), List.of("trainer"));
    assertTrue(FrameGuard.largeLane(config).maxChunkPayloadBytes() >= 4 * 1024 * 1024,
        FrameGuard.largeLane(config).toString());
    assertTrue(FrameGuard.ordinaryLane(config).maxMessageBytes() > FrameGuard.ARTERY_DEFAULT_FRAME_BYTES);
  }

  @Test
  void rejectsRoleNamesPekkoForbidsNamingTheFlag() {
    assertEquals("--role 'dc-east': Pekko reserves role names starting with dc-",
        message(() -> NodeConfig.forNode(SELF, List.of(), List.of("dc-east"))));
    assertEquals("--role ' rollout': expected a role name",
        message(() -> NodeConfig.forNode(SELF, List.of(), List.of(" rollout"))));
  }

  @Test
  void singleJvmUsesAFreeLoopbackPortEveryRoleAndKeepsTheJvm() {
    Config config = NodeConfig.forSingleJvm();
    assertEquals("127.0.0.1", config.getString("pekko.remote.artery.canonical.hostname"));
    assertEquals(0, config.getInt(PORT));
    assertEquals(NodeConfig.ALL_ROLES, config.getStringList("pekko.cluster.roles"));
    assertFalse(config.getBoolean("pekko.coordinated-shutdown.exit-jvm"));
  }

  @Test
  void secureNodesRunArteryOverMutualTlsWithTheRunsKeys(@TempDir Path tmp) throws Exception {
    assertEquals("tcp", NodeConfig.forNode(SELF, List.of(), List.of("rollout")).getString("pekko.remote.artery.transport"));
    assertTrue(message(() -> NodeConfig.forNode(SELF, List.of(), List.of("rollout"), ConfigFactory.empty(), true, null))
        .startsWith("--secure needs --keys DIR"));
    Path keys = tmp.resolve("keys");
    assertTrue(message(() -> NodeConfig.forNode(SELF, List.of(), List.of("rollout"), ConfigFactory.empty(), true, keys))
        .startsWith("--keys " + keys + ": no readable ca.crt"));
    RunKeys.create(keys, "t1", Duration.ofDays(1));
    for (String f : List.of(RunKeys.CA_CERT, RunKeys.CERT, RunKeys.KEY)) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keys.resolve(f))), f);
      assertFalse(Files.readString(keys.resolve(f)).isBlank());
    }
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keys)));
    assertTrue(Files.readString(keys.resolve(RunKeys.KEY)).startsWith("-----BEGIN PRIVATE KEY-----\n"));
    Config config = NodeConfig.forNode(SELF, List.of(), List.of("rollout"), ConfigFactory.empty(), true, keys);
    assertEquals("tls-tcp", config.getString("pekko.remote.artery.transport"));
    assertEquals(keys.toAbsolutePath().resolve(RunKeys.KEY).toString(),
        config.getString("pekko.remote.artery.ssl.rotating-keys-engine.key-file"));
    assertTrue(message(() -> RunKeys.create(keys, "t2", Duration.ofDays(1))).endsWith("keys are never overwritten "
        + "(use a new --output)"));
    Path expired = tmp.resolve("expired");
    RunKeys.create(expired, "old", Duration.ofMinutes(-1)); // valid from 5 min ago until 1 min ago
    assertTrue(message(() -> RunKeys.check(expired, "--keys")).matches("--keys .*expired: tls.crt expired on .*, so "
        + "every node would refuse this one: make new keys \\(`rlhf-node keys --output DIR`\\) for every node"),
        message(() -> RunKeys.check(expired, "--keys")));
    Path other = tmp.resolve("other");
    RunKeys.create(other, "t3", Duration.ofDays(1));
    Path mixed = tmp.resolve("mixed");
    Files.createDirectories(mixed);
    Files.copy(keys.resolve(RunKeys.CA_CERT), mixed.resolve(RunKeys.CA_CERT));
    Files.copy(other.resolve(RunKeys.CERT), mixed.resolve(RunKeys.CERT));
    Files.copy(other.resolve(RunKeys.KEY), mixed.resolve(RunKeys.KEY));
    assertEquals("--keys " + mixed + ": tls.crt is not signed by ca.crt: the files come from different runs",
        message(() -> RunKeys.check(mixed, "--keys")));
    Files.writeString(mixed.resolve(RunKeys.CERT), "not a certificate");
    assertTrue(message(() -> RunKeys.check(mixed, "--keys")).startsWith("--keys " + mixed
        + ": tls.crt is not a PEM X.509 certificate ("), message(() -> RunKeys.check(mixed, "--keys")));
  }

  private static String message(Runnable action) {
    return assertThrows(IllegalArgumentException.class, action::run).getMessage();
  }
}
