package org.rlhfnode.node.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.messages.WeightVersionInstalled;
import org.rlhfnode.node.sync.WeightPublisher;
import org.rlhfnode.node.sync.WeightReceiver;
import org.rlhfnode.node.sync.WeightSyncSettings;
import org.rlhfnode.runtime.transport.PayloadBuffer;
import org.rlhfnode.runtime.transport.WeightPayload;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench weight-sync}: publishes a random payload of {@code --size-mb} MiB from a {@link WeightPublisher}
 * in one actor system to a {@link WeightReceiver} in a second one, both in this JVM and joined by Artery TCP
 * on 127.0.0.1, by Artery chunks and/or by a Gloo broadcast. The receiver's owner reports each version
 * installed as soon as it arrives (no model is built), so the time is the transfer: checksums, chunks, acks or
 * the broadcast, reassembly. Prints MB/s (10^6 bytes) per repeat and the median, after warm-up publishes.
 */
@Command(name = "weight-sync", mixinStandardHelpOptions = true,
    description = "Weight publishing throughput over loopback (Artery chunks, Gloo broadcast).")
final class BenchWeightSyncCommand implements Callable<Integer> {
  @Option(names = "--size-mb", defaultValue = "256", description = "Payload size in MiB (default: ${DEFAULT-VALUE}).")
  int sizeMb;
  @Option(names = "--repeats", defaultValue = "5", description = "Timed publishes per transport.")
  int repeats;
  @Option(names = "--warmup", defaultValue = "5", description = "Untimed publishes first (JIT, connections).")
  int warmup;
  @Option(names = "--transport", defaultValue = "both", description = "artery, gloo or both.")
  String transport;
  @Option(names = "--secure", description = "The two actor systems talk over mutual TLS (keys made for the bench), "
      + "as nodes started with --secure do; the Artery transport's chunks then travel inside TLS.")
  boolean secure;
  @Option(names = "--large-lane", description = "Artery: chunks on the large-message lane (2 MiB frames).")
  boolean largeLane;
  @Option(names = "--window", defaultValue = "4", description = "Artery: chunks in flight.")
  int window;
  @Option(names = "--frame-kib", defaultValue = "0",
      description = "Artery: maximum-frame-size (or the large lane's) in KiB; 0 = Artery's default.")
  int frameKib;

  @Override
  public Integer call() throws Exception {
    long bytes = (long) sizeMb << 20;
    List<String> transports = transport.equals("both") ? List.of("artery", "gloo") : List.of(transport);
    Config config = secure ? org.rlhfnode.node.cluster.NodeConfig.tls(benchKeys()).withFallback(systemConfig())
        : systemConfig();
    Map<String, WeightSyncSettings> settings = new LinkedHashMap<>();
    transports.forEach(t -> settings.put(t, WeightSyncSettings.fromConfig(settingsConfig(config, t))));
    Sink sink = new Sink();
    CompletableFuture<ActorRef<WeightSyncMessage>> receiver = new CompletableFuture<>();
    ActorSystem<Void> rollout = ActorSystem.create(receiverGuardian(sink, receiver), "Rollout", config);
    CompletableFuture<Map<String, ActorRef<WeightPublisher.Command>>> publishers = new CompletableFuture<>();
    ActorSystem<Void> trainer = ActorSystem.create(publisherGuardian(settings, publishers), "Trainer", config);
    try (WeightPayload payload = randomPayload(bytes)) {
      long sentCrc = crc(payload);
      ActorRef<WeightSyncMessage> seenFromTrainer = ActorRefResolver.get(trainer)
          .resolveActorRef(ActorRefResolver.get(rollout).toSerializationFormat(receiver.get()));
      System.out.printf("payload %d MiB (%d bytes); publisher and receiver in two actor systems, Artery %s on"
          + " 127.0.0.1; %d warm-up + %d timed publishes per transport%n", sizeMb, bytes,
          secure ? "over mutual TLS" : "TCP", warmup, repeats);
      long version = 0;
      for (String t : transports) {
        version = measure(t, settings.get(t), trainer, publishers.get().get(t), payload, version, seenFromTrainer);
        if (crc(sink.last) != sentCrc) {
          throw new IllegalStateException(t + ": the received bytes differ from the sent ones");
        }
        System.out.printf("%-7s received bytes equal the sent ones (CRC32C)%n", t);
      }
    } finally {
      trainer.terminate();
      rollout.terminate();
      trainer.getWhenTerminated().toCompletableFuture().get();
      rollout.getWhenTerminated().toCompletableFuture().get();
    }
    return 0;
  }

  /** Warm-up and timed publishes by one transport, from version {@code version + 1}; returns the last version. */
  private long measure(String t, WeightSyncSettings settings, ActorSystem<Void> trainer,
      ActorRef<WeightPublisher.Command> publisher, WeightPayload payload, long version,
      ActorRef<WeightSyncMessage> receiver) throws Exception {
    double[] mbPerS = new double[repeats];
    for (int i = -warmup; i < repeats; i++) {
      WeightPublisher.Published p = publish(trainer, publisher,
          new WeightPayload(++version, payload.buffer(), payload.entries()), receiver);
      if (i >= 0) {
        mbPerS[i] = payload.totalBytes() / 1e6 / p.seconds();
        System.out.printf("%-7s %s repeat %d: %.3f s, %.1f MB/s%n", t, describe(settings), i + 1, p.seconds(),
            mbPerS[i]);
      }
    }
    System.out.printf("%-7s median %.1f MB/s over %d repeats%n", t, median(mbPerS), repeats);
    return version;
  }

  /** A run's keys for the two actor systems, in a fresh temporary directory. */
  private static java.nio.file.Path benchKeys() throws java.io.IOException {
    java.nio.file.Path keys = java.nio.file.Files.createTempDirectory("bench-keys").resolve("keys");
    org.rlhfnode.node.cluster.RunKeys.create(keys, "bench", java.time.Duration.ofDays(1));
    return keys;
  }

  private Config systemConfig() {
    String frame = frameKib > 0 ? "pekko.remote.artery.advanced.maximum-frame-size = " + frameKib + " KiB\n"
        + "pekko.remote.artery.advanced.maximum-large-frame-size = " + frameKib + " KiB\n" : "";
    return ConfigFactory.parseString(frame + """
        pekko.actor.provider = remote
        pekko.remote.artery.transport = tcp
        pekko.remote.artery.canonical.hostname = 127.0.0.1
        pekko.remote.artery.canonical.port = 0
        pekko.remote.artery.large-message-destinations = ["/user/weights*"]
        pekko.remote.warn-about-direct-use = off
        pekko.remote.warn-unsafe-watch-outside-cluster = off
        pekko.loglevel = WARNING
        """).withFallback(ConfigFactory.load());
  }

  private Config settingsConfig(Config base, String t) {
    return ConfigFactory.parseString("weight_sync_transport = " + t + ", weight_chunk_window = " + window
        + ", weight_large_lane = " + largeLane + ", weight_ack_timeout_ms = 30000, gloo_host = \"127.0.0.1\""
        + ", gloo_port = 0").atPath("rlhf.weight_sync").withFallback(base);
  }

  private static String describe(WeightSyncSettings s) {
    return s.transport() == WeightSyncSettings.Transport.GLOO ? "broadcast"
        : "chunks of " + s.chunkGuard().maxChunkPayloadBytes() + " B, window " + s.chunkWindow();
  }

  /** {@code bytes} of random data as 64 BF16 tensors (the layout does not matter to the transports). */
  private static WeightPayload randomPayload(long bytes) {
    PayloadBuffer buffer = PayloadBuffer.allocate(bytes);
    SplittableRandom rnd = new SplittableRandom(0);
    byte[] block = new byte[1 << 20];
    for (long off = 0; off < bytes; off += block.length) {
      for (int i = 0; i < block.length; i += 8) {
        long r = rnd.nextLong();
        for (int k = 0; k < 8; k++) {
          block[i + k] = (byte) (r >>> (8 * k));
        }
      }
      buffer.write(off, ByteBuffer.wrap(block, 0, (int) Math.min(block.length, bytes - off)));
    }
    int tensors = 64;
    long per = bytes / tensors / 2; // BF16 elements per tensor
    List<WeightPayload.Entry> entries = new ArrayList<>();
    for (int i = 0; i < tensors; i++) {
      entries.add(new WeightPayload.Entry("model.layers." + i + ".weight", "BF16", new long[] {per}, 2 * per * i));
    }
    return new WeightPayload(0, buffer, entries);
  }

  private static long crc(WeightPayload p) {
    CRC32C crc = new CRC32C();
    for (long off = 0; off < p.totalBytes(); off += 1 << 30) {
      crc.update(p.buffer().read(off, (int) Math.min(1 << 30, p.totalBytes() - off)));
    }
    return crc.getValue();
  }

  /** Where the bench receiver's owner keeps the last payload delivered (closing the one before). */
  private static final class Sink {
    volatile WeightPayload last;
  }

  /** Spawns the receiver at /user/weights-receiver, whose owner reports each version installed at once. */
  private static Behavior<Void> receiverGuardian(Sink sink, CompletableFuture<ActorRef<WeightSyncMessage>> ref) {
    Behavior<WeightReceiver.Deliver> owner = Behaviors.receiveMessage(d -> {
      d.replyTo().tell(new WeightVersionInstalled(d.payload().version(), "bench", d.payload().totalBytes()));
      WeightPayload previous = sink.last;
      sink.last = d.payload();
      if (previous != null) {
        previous.close();
      }
      return Behaviors.same();
    });
    return Behaviors.setup(ctx -> {
      ActorRef<WeightReceiver.Deliver> o = ctx.spawn(owner, "owner");
      ref.complete(ctx.spawn(WeightReceiver.create("bench", Duration.ofMinutes(2), o), "weights-receiver"));
      return Behaviors.empty();
    });
  }

  /** Spawns one publisher per transport. */
  private static Behavior<Void> publisherGuardian(Map<String, WeightSyncSettings> settings,
      CompletableFuture<Map<String, ActorRef<WeightPublisher.Command>>> refs) {
    return Behaviors.setup(ctx -> {
      Map<String, ActorRef<WeightPublisher.Command>> out = new LinkedHashMap<>();
      settings.forEach((t, s) -> out.put(t, ctx.spawn(WeightPublisher.create(s), "publisher-" + t)));
      refs.complete(out);
      return Behaviors.empty();
    });
  }

  private static WeightPublisher.Published publish(ActorSystem<Void> system, ActorRef<WeightPublisher.Command> publisher,
      WeightPayload payload, ActorRef<WeightSyncMessage> receiver) throws Exception {
    WeightPublisher.PublishReply reply = AskPattern.<WeightPublisher.Command, WeightPublisher.PublishReply>ask(
        publisher, r -> new WeightPublisher.Publish(payload, List.of(receiver), r), Duration.ofMinutes(10),
        system.scheduler()).toCompletableFuture().get();
    if (reply instanceof WeightPublisher.PublishFailed f) {
      throw new IllegalStateException("publish of version " + f.version() + " failed: " + f.reason());
    }
    return (WeightPublisher.Published) reply;
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
