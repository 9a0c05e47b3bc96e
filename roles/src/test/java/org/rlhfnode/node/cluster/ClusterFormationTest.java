package org.rlhfnode.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sbr.SplitBrainResolverProvider;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.SelfUp;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.rlhfnode.messages.FrameGuard;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.WeightChunk;
import org.rlhfnode.messages.WeightChunkAck;

/**
 * Real cluster nodes built with {@link NodeConfig}: two actor systems in this JVM on 127.0.0.1, each on a
 * free port, form one cluster with their roles and the split-brain resolver, and full-size weight chunks
 * reach actors named {@code weights} (/user/weights, /user/rollout/weights) over the large-message lane;
 * a node whose seed is not there keeps trying to join.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterFormationTest {
  private static final Duration UP = Duration.ofSeconds(30);
  private static final NodeAddress ANY_LOOPBACK_PORT = new NodeAddress("127.0.0.1", 0);
  /** exit-jvm = on would end the test run when a test kit shuts its system down. */
  private static final Config KEEP_JVM = ConfigFactory.parseString("pekko.coordinated-shutdown.exit-jvm = off");

  private final List<ActorTestKit> kits = new ArrayList<>();
  private ActorTestKit head;
  private ActorTestKit worker;

  @AfterAll
  void shutDownNodes() {
    for (int i = kits.size() - 1; i >= 0; i--) {
      kits.get(i).shutdownTestKit();
    }
  }

  /** The supervisor,trainer node joins itself on a free port; the rollout node joins it as its seed. */
  @BeforeAll
  void formCluster() {
    head = node(List.of(), List.of("supervisor", "trainer"), ConfigFactory.empty());
    NodeConfig.joinSeeds(head.system(), List.of());
    Address headAddress = Cluster.get(head.system()).selfMember().address();
    NodeAddress seed = new NodeAddress(headAddress.getHost().orElseThrow(), headAddress.getPort().orElseThrow());
    assertTrue(seed.port() > 0, "port 0 resolves to the bound port: " + seed);
    worker = node(List.of(seed), List.of("rollout"), ConfigFactory.empty());
    NodeConfig.joinSeeds(worker.system());
  }

  @Test
  void twoNodesReachMemberUpWithTheirRolesAndSplitBrainResolver() {
    for (ActorTestKit kit : List.of(head, worker)) {
      TestProbe<SelfUp> up = kit.createTestProbe();
      Cluster.get(kit.system()).subscriptions().tell(Subscribe.create(up.getRef(), SelfUp.class));
      up.expectMessageClass(SelfUp.class, UP);
    }
    head.createTestProbe().awaitAssert(UP, () -> {
      List<Member> members = StreamSupport.stream(Cluster.get(head.system()).state().getMembers().spliterator(), false)
          .toList();
      assertEquals(2, members.stream().filter(m -> m.status() == MemberStatus.up()).count(), members.toString());
      assertTrue(members.stream().anyMatch(m -> m.hasRole("supervisor") && m.hasRole("trainer")), members.toString());
      assertTrue(members.stream().anyMatch(m -> m.hasRole("rollout") && !m.hasRole("supervisor")), members.toString());
      return null;
    });
    for (ActorTestKit kit : List.of(head, worker)) {
      org.apache.pekko.cluster.Cluster classic = org.apache.pekko.cluster.Cluster.get(Adapter.toClassic(kit.system()));
      assertInstanceOf(SplitBrainResolverProvider.class, classic.downingProvider());
      assertEquals(Role.SUPERVISOR.cliName(), ClusterSingletonSettings.create(kit.system()).role().get());
    }
  }

  @Test
  void fullSizeWeightChunksReachActorsNamedWeightsOnAnotherNode() {
    TestProbe<ActorRef<WeightChunk>> child = worker.createTestProbe();
    worker.spawn(Behaviors.setup(ctx -> {
      child.getRef().tell(ctx.spawn(acknowledging(), "weights"));
      return Behaviors.empty();
    }), "rollout");
    List<ActorRef<WeightChunk>> receivers = List.of(worker.spawn(acknowledging(), "weights"), child.receiveMessage());
    FrameGuard large = FrameGuard.largeLane(head.system().settings().config());
    long ordinaryFrame = FrameGuard.ordinaryLane(head.system().settings().config()).maxFrameBytes();
    TestProbe<WeightChunkAck> acks = head.createTestProbe();
    WeightChunk chunk = WeightChunk.split(1, ByteBuffer.allocate(large.maxChunkPayloadBytes()), large, acks.getRef())
        .get(0);
    assertTrue(large.check(chunk, SerializationExtension.get(head.system())) > ordinaryFrame, "fits only the large lane");
    for (ActorRef<WeightChunk> receiver : receivers) {
      String path = ActorRefResolver.get(worker.system()).toSerializationFormat(receiver);
      ActorRefResolver.get(head.system()).<WeightChunk>resolveActorRef(path).tell(chunk);
      assertEquals(WeightChunkAck.Status.ACCEPTED, acks.receiveMessage(UP).status(), path);
    }
  }

  private static Behavior<WeightChunk> acknowledging() {
    return Behaviors.receiveMessage(chunk -> {
      chunk.replyTo().tell(chunk.verify("worker"));
      return Behaviors.same();
    });
  }

  @Test
  void nodeWithUnreachableSeedKeepsTryingToJoin() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    Config fastRetry = ConfigFactory.parseString("pekko.cluster.seed-node-timeout = 1s");
    ActorTestKit lonely = node(List.of(new NodeAddress("127.0.0.1", closedPort)), List.of("rollout"), fastRetry);
    NodeConfig.joinSeeds(lonely.system());
    TestProbe<SelfUp> up = lonely.createTestProbe();
    Cluster.get(lonely.system()).subscriptions().tell(Subscribe.create(up.getRef(), SelfUp.class));
    up.expectNoMessage(Duration.ofSeconds(3));
    assertFalse(lonely.system().getWhenTerminated().toCompletableFuture().isDone(), "the node gave up joining");
  }

  private ActorTestKit node(List<NodeAddress> seeds, List<String> roles, Config extra) {
    Config config = extra.withFallback(KEEP_JVM).withFallback(NodeConfig.forNode(ANY_LOOPBACK_PORT, seeds, roles));
    ActorTestKit kit = ActorTestKit.create(NodeConfig.SYSTEM_NAME, config);
    kits.add(kit);
    return kit;
  }
}
