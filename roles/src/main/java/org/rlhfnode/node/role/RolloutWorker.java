package org.rlhfnode.node.role;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.messages.Role;
import org.rlhfnode.messages.RoleStatus;
import org.rlhfnode.messages.RollBack;
import org.rlhfnode.messages.RolledBack;
import org.rlhfnode.messages.RolloutCommand;
import org.rlhfnode.messages.RolloutRejected;
import org.rlhfnode.messages.RolloutRequest;
import org.rlhfnode.messages.StatusQuery;
import org.rlhfnode.messages.WeightSyncMessage;
import org.rlhfnode.messages.WeightVersionInstalled;
import org.rlhfnode.messages.WireMessage;
import org.rlhfnode.node.actor.RoleErrors;
import org.rlhfnode.node.actor.RoleExecutor;
import org.rlhfnode.node.metrics.NodeMetrics;
import org.rlhfnode.node.sync.WeightReceiver;
import org.rlhfnode.node.sync.WeightSyncSettings;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;
import org.rlhfnode.runtime.lora.LoraConfig;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.transport.RankGang;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * A rollout engine: holds one installed policy ({@link ServedPolicy}: a model, or its tensor-parallel
 * slices) and its weight version, samples continuations for prompts that ask for exactly that version, and
 * installs newer versions whole ({@link PolicyVersions} builds them).
 * Loading and generation run on a single-thread executor the actor owns and come back through
 * {@code pipeToSelf}; the swap to a new model is one assignment on the actor thread, so a request is
 * served either by the old version or by the new one, never by a half-loaded model. A replaced model
 * is closed once the generations that hold it have finished. New versions come from a model directory
 * ({@link InstallWeights}) or from a weight publisher through the worker's own {@link WeightReceiver}
 * child, which hands over only complete payloads ({@link InstallPayload}). After a {@link RollBack} (the
 * run was restored from a checkpoint) it serves nothing until the restored version is installed, and
 * accepts that version although it has seen newer ones.
 */
public final class RolloutWorker extends AbstractBehavior<RolloutCommand> {

  /** Load the model in {@code modelDir} as weight version {@code version} and switch to it. */
  public record InstallWeights(long version, Path modelDir, ActorRef<InstallReply> replyTo)
      implements RolloutCommand.Local {
    /** Checks the fields. */
    public InstallWeights {
      Objects.requireNonNull(modelDir, "InstallWeights.modelDir");
      Objects.requireNonNull(replyTo, "InstallWeights.replyTo");
    }
  }

  /**
   * Build weight version {@code payload.version()} from {@code payload} with the config of the last model
   * loaded and switch to it, then tell {@code replyTo}; the version installed already is acknowledged at
   * once; an older one is refused (logged, no reply) unless it is the version a {@link RollBack} waits for.
   * Takes ownership of the payload. Local only: the payload is native memory; remote publishers reach the
   * worker through its {@link WeightReceiver}.
   */
  public record InstallPayload(WeightPayload payload, ActorRef<WeightVersionInstalled> replyTo)
      implements RolloutCommand.Local {
    /** Checks the fields. */
    public InstallPayload {
      Objects.requireNonNull(payload, "InstallPayload.payload");
      Objects.requireNonNull(replyTo, "InstallPayload.replyTo");
    }
  }

  /** Answer to {@link InstallWeights}. */
  public sealed interface InstallReply extends WireMessage permits WeightsInstalled, InstallRefused {
    /** The version the install was for. */
    long version();
  }

  /** {@code version} is installed; every later {@link RolloutRequest} is served by it. */
  public record WeightsInstalled(long version) implements InstallReply {}

  /** {@code version} was not installed (not newer than {@code currentVersion}, or loading failed). */
  public record InstallRefused(long version, long currentVersion, String reason) implements InstallReply {}

  /**
   * Where the worker places models, in which dtype, over how many tensor-parallel ranks (threads of
   * this JVM; {@code --vllm_tensor_parallel_size}), and the policy's LoRA adapters (null: none), whose
   * payloads it merges into the base model ({@link PolicyVersions}).
   */
  public record Settings(DeviceSpec device, ScalarType dtype, int tensorParallel, LoraConfig lora) {
    /** Checks the fields. */
    public Settings {
      Objects.requireNonNull(device, "Settings.device");
      Objects.requireNonNull(dtype, "Settings.dtype");
      if (tensorParallel < 1) {
        throw new IllegalArgumentException("--vllm_tensor_parallel_size must be ≥ 1, got " + tensorParallel);
      }
      if (tensorParallel > 1 && device.cuda()) {
        throw new IllegalArgumentException("--vllm_tensor_parallel_size " + tensorParallel + " on " + device
            + ": a tensor-parallel rollout group is proved on CPU (Gloo) only in this version");
      }
      if (lora != null && tensorParallel > 1) {
        throw new IllegalArgumentException("LoRA adapters cannot be merged into tensor-parallel slices yet");
      }
    }

    /** One rank, no LoRA. */
    public Settings(DeviceSpec device, ScalarType dtype) {
      this(device, dtype, 1, null);
    }
  }

  private record GenerationDone(RolloutRequest request, Installed used, List<GenerationResult> results,
      Throwable error) implements RolloutCommand.Local {}

  /** A finished load for {@code request} (an {@link InstallWeights} or an {@link InstallPayload}). */
  private record LoadDone(RolloutCommand request, long version, String source, ServedPolicy model, Throwable error)
      implements RolloutCommand.Local {}

  /** A loaded model, its version and the generations that still use it. */
  private static final class Installed {
    final ServedPolicy model;
    final long version;
    int inFlight;
    boolean retired;

    Installed(ServedPolicy model, long version) {
      this.model = model;
      this.version = version;
    }
  }

  private static final long NONE = -1;
  /** Name of the worker's {@link WeightReceiver} child. */
  public static final String RECEIVER_NAME = "weights";

  private final Settings settings;
  private final String receiverId;
  private final ActorRef<WeightSyncMessage> receiver;
  private final ExecutorService executor;
  /** Every loaded model not yet closed, so that stopping frees even one whose load finished too late. */
  private final Set<ServedPolicy> unclosed = ConcurrentHashMap.newKeySet();
  /** The tensor-parallel ranks (threads) that hold and run the slices; null with one rank. */
  private final RankGang gang;
  private final PolicyVersions versions;
  private Installed installed;
  /** Highest version accepted for install so far (loading or installed); older installs are refused. */
  private long newestAccepted = NONE;
  /** The version a {@link RollBack} waits for; nothing is served until it is installed. NONE: none. */
  private long rollbackTo = NONE;
  /** Config of the last model loaded, for building payloads; the executor's thread writes it. */
  private volatile ModelConfig lastConfig;
  private int generating;
  private final NodeMetrics metrics;
  private final String engine; // this worker's name in the node's metrics
  private String runId = "";

  /** A worker with no weights and weight-sync defaults from {@code reference.conf}. */
  public static Behavior<RolloutCommand> create(Settings settings) {
    return create(settings, WeightSyncSettings.reference());
  }

  /**
   * A worker with no weights; send {@link InstallWeights} before a {@link RolloutRequest}. It spawns its
   * {@link WeightReceiver} (child {@value #RECEIVER_NAME}, receiver id = this worker's full path) and
   * registers it with the Receptionist under {@link WeightReceiver#KEY}.
   */
  public static Behavior<RolloutCommand> create(Settings settings, WeightSyncSettings sync) {
    return Behaviors.setup(ctx -> new RolloutWorker(ctx, settings, sync));
  }

  private RolloutWorker(ActorContext<RolloutCommand> context, Settings settings, WeightSyncSettings sync) {
    super(context);
    this.settings = settings;
    this.receiverId = context.getSelf().path().toStringWithAddress(context.getSystem().address());
    ActorRef<WeightReceiver.Deliver> deliveries = context.messageAdapter(WeightReceiver.Deliver.class,
        d -> new InstallPayload(d.payload(), d.replyTo()));
    this.receiver = context.spawn(WeightReceiver.create(receiverId, sync.glooTimeout(), deliveries), RECEIVER_NAME);
    context.getSystem().receptionist().tell(Receptionist.register(WeightReceiver.KEY, receiver));
    this.executor = RoleExecutor.create("rollout-worker-" + context.getSelf().path().name());
    this.metrics = NodeMetrics.get(context.getSystem());
    this.engine = context.getSelf().path().name();
    this.gang = settings.tensorParallel() == 1 ? null
        : RankGang.cpu(settings.tensorParallel(), java.time.Duration.ofMinutes(30), "rollout-tp");
    if (gang != null) {
      context.getLog().info("rollout engine over {} tensor-parallel ranks", settings.tensorParallel());
    }
    this.versions = new PolicyVersions(gang, settings);
  }

  @Override
  public Receive<RolloutCommand> createReceive() {
    return newReceiveBuilder()
        .onMessage(RolloutRequest.class, this::onGenerate)
        .onMessage(RollBack.class, this::onRollBack)
        .onMessage(StatusQuery.class, this::onStatus)
        .onMessage(GenerationDone.class, this::onGenerationDone)
        .onMessage(InstallWeights.class, this::onInstallWeights)
        .onMessage(InstallPayload.class, this::onInstallPayload)
        .onMessage(LoadDone.class, this::onLoadDone)
        .onSignal(PostStop.class, s -> onPostStop())
        .build();
  }

  private Behavior<RolloutCommand> onGenerate(RolloutRequest g) {
    long current = installed == null || rollbackTo != NONE ? NONE : installed.version;
    if (g.policyVersion() != current) {
      String reason = rollbackTo != NONE ? "rolled back: waiting for weight version " + rollbackTo
          : installed == null ? "no weights installed"
          : "stale version: requested " + g.policyVersion() + ", installed " + current;
      g.replyTo().tell(new RolloutRejected(g.requestId(), g.policyVersion(), current, reason));
      return this;
    }
    Installed used = installed;
    used.inFlight++;
    generating++;
    metrics.rolloutInFlight(engine, generating);
    List<GenerationRequest> requests = RolloutConversions.toRequests(g);
    CompletableFuture<List<GenerationResult>> future =
        CompletableFuture.supplyAsync(() -> used.model.generate(requests), executor);
    getContext().pipeToSelf(future, (results, error) -> new GenerationDone(g, used, results, error));
    return this;
  }

  private Behavior<RolloutCommand> onGenerationDone(GenerationDone done) {
    RolloutRequest g = done.request();
    done.used().inFlight--;
    generating--;
    metrics.rolloutInFlight(engine, generating);
    closeIfUnused(done.used());
    if (done.error() != null) {
      RoleErrors.warn(getContext().getLog(), "generation " + g.requestId() + " failed", done.error());
      g.replyTo().tell(new RolloutRejected(g.requestId(), g.policyVersion(), done.used().version,
          "generation failed: " + RoleErrors.oneLine(done.error())));
      return this;
    }
    g.replyTo().tell(new GeneratedSequences(g.requestId(), done.used().version, g.sampling().samplesPerPrompt(),
        RolloutConversions.toTensors(g, done.results())));
    return this;
  }

  private Behavior<RolloutCommand> onInstallWeights(InstallWeights install) {
    String refusal = refusal(install.version());
    if (refusal != null) {
      install.replyTo().tell(new InstallRefused(install.version(), newestAccepted, refusal));
      return this;
    }
    load(install, install.version(), install.modelDir().toString(),
        () -> versions.load(install.modelDir()));
    return this;
  }

  private Behavior<RolloutCommand> onInstallPayload(InstallPayload install) {
    WeightPayload payload = install.payload();
    if (installed != null && rollbackTo == NONE && payload.version() == installed.version) {
      install.replyTo().tell(new WeightVersionInstalled(payload.version(), receiverId, payload.totalBytes()));
      payload.close(); // already serving exactly this version (a sync that overlapped a catch-up)
      return this;
    }
    String refusal = refusal(payload.version());
    if (refusal != null) {
      getContext().getLog().warn("refusing weight payload {}: {}", payload, refusal);
      payload.close();
      return this;
    }
    load(install, payload.version(), payload.toString(), () -> {
      try (payload) {
        return versions.fromPayload(payload, lastConfig);
      }
    });
    return this;
  }

  /**
   * Why {@code version} cannot be installed now, or null: after a {@link RollBack} only the restored version
   * is accepted (a newer one belongs to the abandoned iterations and would keep the restored one out).
   */
  private String refusal(long version) {
    return rollbackTo != NONE && version != rollbackTo ? "rolled back: waiting for weight version " + rollbackTo
        : version <= newestAccepted ? "version " + version + " is not newer than " + newestAccepted : null;
  }

  private Behavior<RolloutCommand> onRollBack(RollBack r) {
    rollbackTo = r.version();
    newestAccepted = r.version() - 1;
    runId = r.runId();
    receiver.tell(new WeightReceiver.Reset(r.version())); // before the reply: the restored bytes come after it
    getContext().getLog().info("rolled back for run {}: serving nothing until weight version {} is installed",
        runId, r.version());
    r.replyTo().tell(new RolledBack(r.requestId(), receiverId, r.version()));
    return this;
  }

  private Behavior<RolloutCommand> onStatus(StatusQuery q) {
    long current = installed == null || rollbackTo != NONE ? 0 : installed.version;
    RoleStatus.State state = installed == null ? RoleStatus.State.STARTING
        : rollbackTo != NONE ? RoleStatus.State.SYNCING_WEIGHTS
        : generating > 0 ? RoleStatus.State.BUSY : RoleStatus.State.IDLE;
    q.replyTo().tell(new RoleStatus(Role.ROLLOUT, receiverId, state, current, settings.device().toString(),
        generating, "", runId));
    return this;
  }

  /** Accepts {@code version} and builds its model on the executor; {@link LoadDone} swaps it in. */
  private void load(RolloutCommand request, long version, String source, Supplier<ServedPolicy> build) {
    newestAccepted = version;
    CompletableFuture<ServedPolicy> future = CompletableFuture.supplyAsync(() -> {
      ServedPolicy model = build.get();
      unclosed.add(model);
      lastConfig = model.config();
      return model;
    }, executor);
    getContext().pipeToSelf(future, (model, error) -> new LoadDone(request, version, source, model, error));
  }

  private Behavior<RolloutCommand> onLoadDone(LoadDone done) {
    long current = installed == null ? NONE : installed.version;
    if (done.error() != null) {
      RoleErrors.warn(getContext().getLog(), "loading version " + done.version() + " from " + done.source() + " failed",
          done.error());
      if (newestAccepted == done.version()) { // it may come again (a resend, a catch-up): not refused as "not newer"
        newestAccepted = rollbackTo != NONE ? rollbackTo - 1 : current;
      }
      refuse(done, current, "load failed: " + RoleErrors.oneLine(done.error()));
      return this;
    }
    if (!done.model().hasLmHead()) {
      closeLater(done.model());
      refuse(done, current, "model has no lm_head");
      return this;
    }
    Installed previous = installed;
    installed = new Installed(done.model(), done.version());
    metrics.rolloutVersion(engine, done.version());
    if (done.version() == rollbackTo) {
      rollbackTo = NONE;
    }
    if (previous != null) {
      previous.retired = true;
      closeIfUnused(previous);
    }
    getContext().getLog().info("installed weight version {} from {}", done.version(), done.source());
    if (done.request() instanceof InstallWeights w) {
      w.replyTo().tell(new WeightsInstalled(done.version()));
    } else if (done.request() instanceof InstallPayload p) {
      p.replyTo().tell(new WeightVersionInstalled(done.version(), receiverId, p.payload().totalBytes()));
    }
    return this;
  }

  /** An {@link InstallWeights} is answered; a refused payload only logged (its reply type has no refusal). */
  private void refuse(LoadDone done, long current, String reason) {
    if (done.request() instanceof InstallWeights w) {
      w.replyTo().tell(new InstallRefused(done.version(), current, reason));
    }
  }

  /** Frees a replaced model once nothing generates with it; on the executor, behind any queued work. */
  private void closeIfUnused(Installed slot) {
    if (slot.retired && slot.inFlight == 0) {
      closeLater(slot.model);
    }
  }

  private void closeLater(ServedPolicy model) {
    executor.execute(() -> {
      if (unclosed.remove(model)) {
        model.close();
      }
    });
  }

  /** Queued work still runs (its replies go nowhere); then every model is freed and the thread ends. */
  private Behavior<RolloutCommand> onPostStop() {
    installed = null;
    executor.execute(() -> {
      unclosed.forEach(ServedPolicy::close);
      unclosed.clear();
      versions.close();
      if (gang != null) {
        gang.close();
      }
    });
    executor.shutdown();
    return this;
  }
}
