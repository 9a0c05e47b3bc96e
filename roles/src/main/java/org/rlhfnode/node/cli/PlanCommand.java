package org.rlhfnode.node.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.algo.ppo.AdvantageEstimator;
import org.rlhfnode.runtime.plan.DeviceBytes;
import org.rlhfnode.runtime.plan.DeviceGroup;
import org.rlhfnode.runtime.plan.MemoryPlan;
import org.rlhfnode.runtime.plan.MemoryPlan.Role;
import org.rlhfnode.runtime.plan.MemoryPlan.RolePlan;
import org.rlhfnode.runtime.plan.ModelSize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * {@code plan}: the memory each PPO role needs per device, from the run's settings (the same
 * {@code --config} file and flags the PPO nodes read) and, for layouts, OpenRLHF's placement flags. Prints
 * one JSON line per role and per group of roles sharing devices ({@code "role":"colocated"}), then one
 * summary line on stderr. The arithmetic is {@link MemoryPlan}; docs/memory.md explains it.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
    description = "Memory per PPO role and device, and whether it fits (JSON lines; see docs/memory.md).",
    footer = "%nEvery other flag is a run setting, as for `train ppo` (--pretrain, --reward_pretrain, "
        + "--critic_pretrain, "
        + "--zero_stage, --adam_offload, --gradient_checkpointing, --bf16, --micro_train_batch_size, "
        + "--micro_rollout_batch_size, --n_samples_per_prompt, --prompt_max_len, --generate_max_len, "
        + "--advantage_estimator, --init_kl_coef, --use_kl_loss, --actor_devices, ...). Models are HF directories "
        + "(config.json) or presets: llama-7b, llama-13b, codellama-34b (llama-34b), llama-70b, llama3-8b, llama3-70b.")
public final class PlanCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final double GIB = 1L << 30;
  /** OpenRLHF's default devices per node of a role whose node count alone is given. */
  private static final int OPENRLHF_GPUS_PER_NODE = 8;

  @Option(names = "--device_memory_gb", defaultValue = "80",
      description = "Memory of one device in GiB (2^30 bytes; an \"80GB\" A100 has 80 GiB). Default: ${DEFAULT-VALUE}.")
  double deviceMemoryGb;

  @Option(names = "--actor_num_nodes", paramLabel = "N", description = "Nodes of the policy trainer.")
  Integer actorNodes;
  @Option(names = "--actor_num_gpus_per_node", paramLabel = "N",
      description = "Devices per node of the policy trainer.")
  Integer actorGpus;
  @Option(names = "--critic_num_nodes", paramLabel = "N", description = "Nodes of the critic.")
  Integer criticNodes;
  @Option(names = "--critic_num_gpus_per_node", paramLabel = "N", description = "Devices per node of the critic.")
  Integer criticGpus;
  @Option(names = "--ref_num_nodes", paramLabel = "N", description = "Nodes of the reference model.")
  Integer refNodes;
  @Option(names = "--ref_num_gpus_per_node", paramLabel = "N", description = "Devices per node of the reference model.")
  Integer refGpus;
  @Option(names = "--reward_num_nodes", paramLabel = "N", description = "Nodes of the reward model(s).")
  Integer rewardNodes;
  @Option(names = "--reward_num_gpus_per_node", paramLabel = "N",
      description = "Devices per node of the reward model(s).")
  Integer rewardGpus;
  @Option(names = "--vllm_num_engines", paramLabel = "N", description = "Rollout engines.")
  Integer vllmEngines;
  @Option(names = "--vllm_tensor_parallel_size", paramLabel = "N",
      description = "Devices per rollout engine (tensor parallel).")
  Integer vllmTp;

  @Option(names = "--colocate_all_models", arity = "0..1", description = "Every role shares the actor's devices.")
  boolean colocateAll;
  @Option(names = "--colocate_actor_ref", arity = "0..1", description = "The reference shares the actor's devices.")
  boolean colocateActorRef;
  @Option(names = "--colocate_critic_reward", arity = "0..1", description = "The reward shares the critic's devices.")
  boolean colocateCriticReward;
  @Option(names = "--ref_reward_offload", arity = "0..1",
      description = "Reference and reward weights in host memory (one module gathered on the device at a time).")
  boolean refRewardOffload;
  @Option(names = "--flash_attn", arity = "0..1",
      description = "Fused attention: no s×s score matrices in the activation estimate.")
  boolean flashAttn;

  @Option(names = "--machine", paramLabel = "ROLES",
      description = "The roles of one machine, as its node's --role list (repeat per machine), so that placement "
          + "groups with the same ids on different machines do not share memory. Default: one machine with every role.")
  List<String> machines = new ArrayList<>();

  @Unmatched
  List<String> settings = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    return run(TrainSettings.parse(settings, "plan"));
  }

  /** Plans the run {@code s} describes. */
  int run(TrainSettings s) throws Exception {
    MemoryPlan.Options options = options(s);
    Map<Role, List<ModelSize>> models = models(s);
    Map<Role, DeviceGroup> groups = groups(s, models.keySet());
    List<RolePlan> plans = new ArrayList<>();
    for (Map.Entry<Role, List<ModelSize>> e : models.entrySet()) {
      plans.add(plan(e.getKey(), e.getValue(), groups.get(e.getKey()), options));
    }
    List<MemoryPlan.Colocation> shared = MemoryPlan.colocations(plans);
    for (RolePlan p : plans) {
      System.out.println(JSON.writeValueAsString(json(p, options)));
    }
    for (MemoryPlan.Colocation c : shared) {
      System.out.println(JSON.writeValueAsString(json(c)));
    }
    System.out.flush();
    System.err.println(summary(plans, shared, options));
    return 0;
  }

  private MemoryPlan.Options options(TrainSettings s) {
    if (!(deviceMemoryGb > 0) || Double.isInfinite(deviceMemoryGb)) {
      throw new IllegalArgumentException("--device_memory_gb must be > 0, got " + deviceMemoryGb);
    }
    return new MemoryPlan.Options(s.bool("train.bf16"), s.integer("train.zero_stage"), s.bool("train.adam_offload"),
        s.bool("train.gradient_checkpointing"), refRewardOffload, flashAttn, s.integer("train.micro_train_batch_size"),
        s.integer("rollout.micro_rollout_batch_size"), s.integer("rollout.n_samples_per_prompt"),
        s.integer("ppo.prompt_max_len"), s.integer("rollout.generate_max_len"), (long) (deviceMemoryGb * GIB));
  }

  /**
   * The run's roles and their models, as a PPO run chooses them (PpoSettings): the critic only for
   * estimators that use one, from critic_pretrain, else the first reward model, else the policy; the
   * reference only with a KL term; the reward role only with reward models (rule-based rewards need no device).
   */
  private static Map<Role, List<ModelSize>> models(TrainSettings s) {
    String pretrain = s.optString("model.pretrain");
    ModelSize policy = ModelSize.resolve(pretrain, false, "pretrain");
    List<String> rms = s.list("model.reward_pretrain");
    Map<Role, List<ModelSize>> out = new EnumMap<>(Role.class);
    out.put(Role.ACTOR, List.of(policy));
    AdvantageEstimator estimator = AdvantageEstimator.fromName(s.string("ppo.advantage_estimator"));
    estimator.checkSamplesPerPrompt(s.integer("rollout.n_samples_per_prompt"));
    if (estimator.usesCritic()) {
      String critic = s.optString("ppo.critic_pretrain");
      String flag = critic != null ? "critic_pretrain" : rms.isEmpty() ? "pretrain" : "reward_pretrain";
      String source = critic != null ? critic : rms.isEmpty() ? pretrain : rms.get(0);
      out.put(Role.CRITIC, List.of(ModelSize.resolve(source, true, flag)));
    }
    out.put(Role.ROLLOUT, List.of(policy));
    double initKl = s.number("ppo.init_kl_coef");
    boolean reference = s.bool("ppo.use_kl_loss") ? initKl > 0 : initKl > 0 || s.optString("ppo.kl_target") != null;
    if (reference) {
      String ref = s.optString("model.ref_pretrain");
      out.put(Role.REFERENCE, List.of(ref == null ? policy : ModelSize.resolve(ref, false, "ref_pretrain")));
    }
    if (!rms.isEmpty()) {
      out.put(Role.REWARD, rms.stream().map(rm -> ModelSize.resolve(rm, true, "reward_pretrain")).toList());
    }
    return out;
  }

  private RolePlan plan(Role role, List<ModelSize> models, DeviceGroup group, MemoryPlan.Options o) {
    switch (role) {
      case ACTOR:
      case CRITIC:
        return MemoryPlan.trainer(role, models.get(0), group, o);
      case ROLLOUT:
        return MemoryPlan.rollout(models.get(0), group, rolloutTp(group), o);
      default:
        return MemoryPlan.scorer(role, models, group, o);
    }
  }

  /**
   * The explicit --vllm_tensor_parallel_size (engines = devices / tp over a placement group), 1 when only
   * --vllm_num_engines is given (OpenRLHF's default), else one engine over the whole rollout group.
   */
  private int rolloutTp(DeviceGroup group) {
    return vllmTp != null ? vllmTp : vllmEngines != null ? 1 : group.devices();
  }

  /**
   * Each role's devices: OpenRLHF's counts when given, else a GPU group from {@code rlhf.placement} on the
   * role's {@code --machine}; colocate flags put roles on the same devices (a role without a group of its own
   * takes its partner's size). Once any count or colocate flag is used, a role with neither counts nor a GPU
   * group gets OpenRLHF's default, 1 node × 8 devices (the rollout: one engine on one device).
   */
  private Map<Role, DeviceGroup> groups(TrainSettings s, Set<Role> roles) {
    Map<Role, String> machineOf = machineOf(roles);
    boolean openRlhf = colocateAll || colocateActorRef || colocateCriticReward;
    for (Role r : Role.values()) {
      openRlhf |= hasCounts(r);
    }
    Map<Role, DeviceGroup> own = new EnumMap<>(Role.class);
    for (Role r : Role.values()) {
      DeviceGroup g = ownGroup(r, s, machineOf.getOrDefault(r, "0"), openRlhf);
      if (g != null) {
        own.put(r, g);
      }
    }
    Map<Role, DeviceGroup> out = new EnumMap<>(Role.class);
    DeviceGroup actor = own.getOrDefault(Role.ACTOR, openRlhfDefault(Role.ACTOR));
    if (colocateAll) {
      for (Role r : Role.values()) {
        out.put(r, colocated(own.getOrDefault(r, actor), "colocated"));
      }
    }
    if (colocateActorRef && !colocateAll) {
      out.put(Role.ACTOR, colocated(actor, "actor+reference"));
      out.put(Role.REFERENCE, colocated(own.getOrDefault(Role.REFERENCE, actor), "actor+reference"));
    }
    if (colocateCriticReward && !colocateAll) {
      DeviceGroup critic = own.getOrDefault(Role.CRITIC, openRlhfDefault(Role.CRITIC));
      out.put(Role.CRITIC, colocated(critic, "critic+reward"));
      out.put(Role.REWARD, colocated(own.getOrDefault(Role.REWARD, critic), "critic+reward"));
    }
    for (Role r : Role.values()) {
      out.putIfAbsent(r, own.getOrDefault(r, openRlhfDefault(r)));
    }
    out.keySet().retainAll(roles);
    return out;
  }

  /** The role's own group (counts, or its placement), or null when OpenRLHF's default applies. */
  private DeviceGroup ownGroup(Role r, TrainSettings s, String machine, boolean openRlhf) {
    String key = "placement." + prefix(r) + "_devices";
    DeviceGroup placed = DeviceGroup.parse(s.string(key), machine, key.substring(key.indexOf('.') + 1));
    boolean tpOverPlacement = r == Role.ROLLOUT && vllmEngines == null && !placed.isCpu();
    if (hasCounts(r) && !tpOverPlacement) {
      return counted(r);
    }
    return !placed.isCpu() || !openRlhf ? placed : null;
  }

  private static DeviceGroup openRlhfDefault(Role r) {
    return r == Role.ROLLOUT ? DeviceGroup.counted(r.jsonName(), 1, 1, "--vllm_num_engines")
        : DeviceGroup.counted(r.jsonName(), 1, OPENRLHF_GPUS_PER_NODE, "--" + prefix(r) + "_num_gpus_per_node");
  }

  private boolean hasCounts(Role r) {
    Integer[] c = counts(r);
    return c[0] != null || c[1] != null;
  }

  private Integer[] counts(Role r) {
    switch (r) {
      case ACTOR: return new Integer[] {actorNodes, actorGpus};
      case CRITIC: return new Integer[] {criticNodes, criticGpus};
      case REFERENCE: return new Integer[] {refNodes, refGpus};
      case REWARD: return new Integer[] {rewardNodes, rewardGpus};
      default: return new Integer[] {vllmEngines, vllmTp};
    }
  }

  private static String prefix(Role r) {
    return r == Role.REFERENCE ? "ref" : r.jsonName();
  }

  /** The role's group from its count flags; rollout engines are counted on machines the size of the actor's. */
  private DeviceGroup counted(Role r) {
    Integer[] c = counts(r);
    if (r == Role.ROLLOUT) {
      int engines = c[0] == null ? 1 : c[0];
      int tp = c[1] == null ? 1 : c[1];
      if (engines < 1 || tp < 1) {
        throw new IllegalArgumentException("--vllm_num_engines and --vllm_tensor_parallel_size must be ≥ 1, got "
            + engines + " and " + tp);
      }
      int perNode = actorGpus != null ? Math.max(actorGpus, 1) : OPENRLHF_GPUS_PER_NODE;
      int devices = engines * tp;
      int nodes = Math.max(1, (devices + perNode - 1) / perNode);
      DeviceGroup g = DeviceGroup.counted(r.jsonName(), 1, devices, "--vllm_num_engines");
      return new DeviceGroup(g.machine(), g.ids(), nodes, engines + "x" + tp);
    }
    String p = "--" + prefix(r);
    return DeviceGroup.counted(r.jsonName(), c[0] == null ? 1 : c[0], c[1] == null ? OPENRLHF_GPUS_PER_NODE : c[1],
        p + "_num_nodes and " + p + "_num_gpus_per_node");
  }

  /** The same number of devices, ids 0..n-1, on the shared machine label. */
  private static DeviceGroup colocated(DeviceGroup g, String machine) {
    DeviceGroup c = DeviceGroup.counted(machine, 1, g.devices(), "devices");
    return new DeviceGroup(machine, c.ids(), g.nodes(), g.label());
  }

  /** Role → machine label from the --machine lists (index of the list that names the role). */
  private Map<Role, String> machineOf(Set<Role> roles) {
    Map<Role, String> out = new EnumMap<>(Role.class);
    if (machines.isEmpty()) {
      return out;
    }
    for (int i = 0; i < machines.size(); i++) {
      for (String name : machines.get(i).split(",")) {
        for (Role r : roleNames(name.trim())) {
          if (out.put(r, String.valueOf(i)) != null) {
            throw new IllegalArgumentException("--machine: the " + r.jsonName() + " role is on two machines");
          }
        }
      }
    }
    for (Role r : roles) {
      if (!out.containsKey(r) && !hasCounts(r)) {
        throw new IllegalArgumentException("--machine: no machine runs the " + r.jsonName() + " role");
      }
    }
    return out;
  }

  private static List<Role> roleNames(String name) {
    switch (name.toLowerCase(Locale.ROOT)) {
      case "all": return List.of(Role.values());
      case "trainer": case "policy": case "actor": return List.of(Role.ACTOR);
      case "critic": return List.of(Role.CRITIC);
      case "rollout": return List.of(Role.ROLLOUT);
      case "reference": case "ref": return List.of(Role.REFERENCE);
      case "reward": return List.of(Role.REWARD);
      case "supervisor": return List.of();
      default:
        throw new IllegalArgumentException("--machine: unknown role '" + name
            + "' (all, supervisor, trainer, critic, rollout, reference, reward)");
    }
  }

  private static ObjectNode json(RolePlan p, MemoryPlan.Options o) {
    ObjectNode n = JSON.createObjectNode();
    n.put("role", p.role().jsonName());
    n.put("model", p.models().stream().map(ModelSize::source).collect(Collectors.joining(",")));
    n.put("params", p.params());
    n.put("devices", p.group().devices());
    n.put("nodes", p.group().nodes());
    n.put("group", p.group().label());
    n.put("dtype", o.bf16() ? "bf16" : "fp32");
    boolean trainer = p.role() == Role.ACTOR || p.role() == Role.CRITIC;
    if (p.role() != Role.ROLLOUT) {
      n.put("zero_stage", o.zeroStage());
    }
    n.put("shards", p.shards());
    n.put("tp", p.tp());
    n.put("offload", trainer ? o.adamOffload() : p.role() != Role.ROLLOUT && o.refRewardOffload());
    n.put("gradient_checkpointing", trainer && o.gradientCheckpointing());
    n.set("bytes_per_device", bytes(p.perDevice()));
    n.put("total_gib", gib(p.perDevice().total()));
    n.put("host_bytes", p.hostBytes());
    n.put("host_bytes_per_node", p.hostBytes() * p.group().devicesPerNode());
    if (p.deepSpeedBytes() >= 0) {
      n.put("deepspeed_model_states_bytes", p.deepSpeedBytes());
    }
    n.put("device_memory_bytes", p.deviceMemoryBytes());
    n.put("fits", p.fits());
    return n;
  }

  private static ObjectNode json(MemoryPlan.Colocation c) {
    ObjectNode n = JSON.createObjectNode();
    n.put("role", "colocated");
    c.roles().forEach(r -> n.withArray("roles").add(r.jsonName()));
    n.put("devices", c.devices());
    n.set("bytes_per_device", bytes(c.perDevice()));
    n.put("total_gib", gib(c.perDevice().total()));
    n.put("host_bytes", c.hostBytes());
    n.put("device_memory_bytes", c.deviceMemoryBytes());
    n.put("fits", c.fits());
    n.put("sequential_total", c.sequentialTotal());
    n.put("fits_sequential", c.fitsSequential());
    return n;
  }

  private static ObjectNode bytes(DeviceBytes b) {
    ObjectNode n = JSON.createObjectNode();
    n.put("weights", b.weights());
    n.put("grads", b.grads());
    n.put("optimizer", b.optimizer());
    n.put("activations", b.activations());
    n.put("kv_cache", b.kvCache());
    n.put("total", b.total());
    return n;
  }

  private static double gib(long bytes) {
    return Math.round(bytes / GIB * 100) / 100.0;
  }

  private static String summary(List<RolePlan> plans, List<MemoryPlan.Colocation> shared, MemoryPlan.Options o) {
    Set<String> devices = new LinkedHashSet<>();
    plans.forEach(p -> p.group().ids().forEach(id -> devices.add(p.group().machine() + "/" + id)));
    List<String> over = new ArrayList<>();
    plans.stream().filter(p -> !p.fits())
        .forEach(p -> over.add(p.role().jsonName() + " " + gib(p.perDevice().total()) + " GiB"));
    shared.stream().filter(c -> !c.fits()).forEach(c -> over.add("colocated "
        + c.roles().stream().map(Role::jsonName).collect(Collectors.joining("+")) + " " + gib(c.perDevice().total())
        + " GiB, " + gib(c.sequentialTotal()) + " GiB if the phases alternate"));
    long largest = plans.stream().mapToLong(p -> p.perDevice().total()).max().orElse(0);
    for (MemoryPlan.Colocation c : shared) {
      largest = Math.max(largest, c.perDevice().total());
    }
    String head = "plan: " + plans.size() + " roles on " + devices.size() + " device(s) of "
        + gib(o.deviceMemoryBytes()) + " GiB; the most loaded device needs " + gib(largest) + " GiB";
    return over.isEmpty() ? head + ": FITS" : head + ": DOES NOT FIT (" + String.join(", ", over) + ")";
  }
}
