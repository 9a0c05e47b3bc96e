package org.rlhfnode.node.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.JoinSeedNodes;
import org.rlhfnode.messages.Role;

/**
 * Builds the configuration of a node's actor system and joins it to its cluster. Layers, highest first:
 * the node's flags (address, seeds, roles), {@code -D} system properties, the run's {@code --config}
 * file, {@code rlhf-cluster.conf} (shipped in the jar: Artery, downing, frame sizes), Pekko's
 * {@code reference.conf}. Seeds are joined programmatically by {@link #joinSeeds} after the system has
 * started, so a node on port 0 can still be its own seed.
 */
public final class NodeConfig {

  /** The actor system name every node must use: Pekko addresses include it, so nodes only join equals. */
  public static final String SYSTEM_NAME = "rlhf";
  /** The cluster roles {@code --role all} stands for: one JVM runs every role. */
  public static final List<String> ALL_ROLES = Role.all().stream().map(Role::cliName).toList();
  /** The classpath resource with the cluster settings every node uses. */
  public static final String CLUSTER_RESOURCE = "rlhf-cluster.conf";
  /** Setting with the seeds ({@code host:port} strings) that {@link #joinSeeds(ActorSystem)} joins. */
  public static final String SEEDS_PATH = "rlhf.cluster.seeds";
  /** Setting that turns on mutual TLS between the nodes ({@code --secure}). */
  public static final String SECURE_PATH = "rlhf.cluster.secure";
  /** Setting with the run's keys directory ({@code --keys}). */
  public static final String KEYS_PATH = "rlhf.cluster.keys";

  private static final String ROLE_FLAG = "--role";
  private static final String SEED_FLAG = "--seed";

  private NodeConfig() {}

  /** The configuration of a node at {@code self} with cluster roles {@code roles}; see the 4-argument form. */
  public static Config forNode(NodeAddress self, List<NodeAddress> seeds, List<String> roles) {
    return forNode(self, seeds, roles, ConfigFactory.empty());
  }

  /**
   * The configuration of a node at {@code self} (port 0: any free port) that joins {@code seeds} (empty:
   * the seeds of the run file, or none, so the node is its own seed) with cluster roles {@code roles}
   * (empty: those of the run file); {@code runConfig} is the run's {@code --config} file. Resolved, with
   * Pekko's reference settings included.
   *
   * @throws IllegalArgumentException a one-line message naming the flag or setting (a role that Pekko
   *     forbids, a seed in the run file that is not host:port), before any actor system starts
   */
  public static Config forNode(NodeAddress self, List<NodeAddress> seeds, List<String> roles, Config runConfig) {
    return forNode(self, seeds, roles, runConfig, false, null);
  }

  /**
   * As {@link #forNode(NodeAddress, List, List, Config)}, with the node's {@code --secure} and {@code --keys}
   * flags: {@code rlhf.cluster.secure} on (from the flag, {@code -D} or the file) runs Artery over mutual TLS
   * with the run's keys ({@link RunKeys}).
   */
  public static Config forNode(NodeAddress self, List<NodeAddress> seeds, List<String> roles, Config runConfig,
      boolean secure, java.nio.file.Path keys) {
    Map<String, Object> security = new HashMap<>();
    if (secure) {
      security.put(SECURE_PATH, true);
    }
    if (keys != null) {
      security.put(KEYS_PATH, keys.toString());
    }
    Config config = layered(ConfigFactory.parseMap(security, "node flags (--secure, --keys)")
        .withFallback(flags(self, seeds, roles)), ConfigFactory.systemProperties(), runConfig);
    NodeAddress.parseAll(config.getStringList(SEEDS_PATH), SEEDS_PATH);
    return withTransport(config, keys != null ? "--keys" : KEYS_PATH);
  }

  /** Whether the node's cluster transport is mutual TLS ({@code rlhf.cluster.secure}). */
  public static boolean secure(Config config) {
    return config.getBoolean(SECURE_PATH);
  }

  /** Artery over {@code tls-tcp} with Pekko's PEM-file engine when {@code rlhf.cluster.secure}, else as is. */
  private static Config withTransport(Config config, String keysSetting) {
    if (!secure(config)) {
      return config;
    }
    java.nio.file.Path dir = RunKeys.check(config.getIsNull(KEYS_PATH) ? null
        : java.nio.file.Path.of(config.getString(KEYS_PATH)), keysSetting);
    return tls(dir).withFallback(config);
  }

  /** The Artery settings of mutual TLS with the keys in {@code dir} ({@link RunKeys}), to lay over a config. */
  public static Config tls(java.nio.file.Path dir) {
    String engine = "pekko.remote.artery.ssl.rotating-keys-engine.";
    Map<String, Object> tls = new HashMap<>();
    tls.put("pekko.remote.artery.transport", "tls-tcp");
    tls.put("pekko.remote.artery.ssl.ssl-engine-provider",
        RefusalLoggingEngineProvider.class.getName()); // Pekko's RotatingKeysSSLEngineProvider, logging refusals
    tls.put(engine + "key-file", dir.resolve(RunKeys.KEY).toString());
    tls.put(engine + "cert-file", dir.resolve(RunKeys.CERT).toString());
    tls.put(engine + "ca-cert-file", dir.resolve(RunKeys.CA_CERT).toString());
    return ConfigFactory.parseMap(tls, "rlhf.cluster.secure");
  }

  /**
   * A one-JVM cluster for {@code --role all} runs and tests: 127.0.0.1 on a free port, every role in
   * {@link #ALL_ROLES}, no seeds (join with {@link #joinSeeds(ActorSystem)}, which joins the node itself).
   * The JVM is not exited when the system terminates: nothing else can down a single-node cluster, and
   * a test kit must be able to shut the system down without ending the test run.
   */
  public static Config forSingleJvm() {
    return ConfigFactory.parseString("pekko.coordinated-shutdown.exit-jvm = off")
        .withFallback(forNode(new NodeAddress(NodeAddress.DEFAULT_HOST, 0), List.of(), ALL_ROLES));
  }

  /**
   * Joins the seeds in the system's {@value #SEEDS_PATH} setting, or the node itself (a new cluster)
   * when there are none. Call once, right after the actor system has started.
   */
  public static void joinSeeds(ActorSystem<?> system) {
    List<String> values = system.settings().config().getStringList(SEEDS_PATH);
    joinSeeds(system, NodeAddress.parseAll(values, SEEDS_PATH));
  }

  /**
   * Joins {@code seeds} (Pekko's seed-node process: it retries until one answers, and only the node that
   * is the first seed itself may start a new cluster), or the node itself, at the port it actually
   * bound, when the list is empty. Call once, right after the actor system has started.
   */
  public static void joinSeeds(ActorSystem<?> system, List<NodeAddress> seeds) {
    Cluster cluster = Cluster.get(system);
    if (seeds.isEmpty()) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      return;
    }
    List<Address> addresses = seeds.stream().map(seed -> seed.toPekkoAddress(system.name())).toList();
    cluster.manager().tell(new JoinSeedNodes(addresses));
  }

  /** The layers under the flags, in order; package-private so tests can stand in for the system properties. */
  static Config layered(Config flags, Config systemProperties, Config runConfig) {
    return flags
        .withFallback(systemProperties)
        .withFallback(runConfig)
        .withFallback(ConfigFactory.parseResources(NodeConfig.class.getClassLoader(), CLUSTER_RESOURCE))
        .withFallback(ConfigFactory.defaultReference(NodeConfig.class.getClassLoader()))
        .resolve();
  }

  /** The flag layer: only what the node was given, so an absent flag leaves the file's value. */
  static Config flags(NodeAddress self, List<NodeAddress> seeds, List<String> roles) {
    Map<String, Object> values = new HashMap<>();
    values.put("pekko.remote.artery.canonical.hostname", self.host());
    values.put("pekko.remote.artery.canonical.port", self.port());
    if (!seeds.isEmpty()) {
      values.put(SEEDS_PATH, seeds.stream().map(NodeAddress::toString).toList());
    }
    if (!roles.isEmpty()) {
      values.put("pekko.cluster.roles", checkedRoles(roles));
    }
    return ConfigFactory.parseMap(values, "node flags (" + ROLE_FLAG + ", " + SEED_FLAG + ", --host, --port)");
  }

  private static List<String> checkedRoles(List<String> roles) {
    for (String role : roles) {
      if (role == null || role.isBlank() || !role.equals(role.strip()) || role.contains(",")) {
        throw new IllegalArgumentException(ROLE_FLAG + " '" + role + "': expected a role name");
      }
      if (role.startsWith("dc-")) {
        throw new IllegalArgumentException(ROLE_FLAG + " '" + role + "': Pekko reserves role names starting with dc-");
      }
    }
    return List.copyOf(roles);
  }
}
