package org.rlhfnode.runtime.plan;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The memory each PPO role needs per device, and whether it fits. One micro-batch of s = prompt_max_len +
 * generate_max_len tokens is in flight per role:
 * <ul>
 *   <li>actor (policy trainer) and critic: {@link ZeroMemory#trainer ZeRO model states} over the role's N
 *       devices + {@link ActivationMemory#training training activations} of micro_train_batch_size
 *       sequences (the critic's head is a score per position, not a vocabulary);
 *   <li>rollout: 16-bit or fp32 weights divided over the tensor-parallel size t, the
 *       {@link ActivationMemory#kvCache KV cache} of micro_rollout_batch_size × n_samples_per_prompt
 *       sequences of s tokens, and a prefill forward of their prompts;
 *   <li>reference and reward: weights only, divided over the role's devices at ZeRO stage 3 (as OpenRLHF
 *       shards its frozen models with the trainers' stage 3 and replicates them otherwise), in host memory
 *       with {@code ref_reward_offload}; plus a forward without gradients of micro_rollout_batch_size
 *       sequences. Several reward models add their weights; their forwards run one at a time.
 * </ul>
 * Roles whose device groups overlap share memory: {@link #colocations} sums them device by device.
 */
public final class MemoryPlan {
  private MemoryPlan() {}

  /** The PPO roles the planner sizes, under their output names. */
  public enum Role {
    ACTOR, CRITIC, ROLLOUT, REFERENCE, REWARD;

    /** {@code actor}, {@code critic}, … */
    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * The run settings the arithmetic reads (OpenRLHF's flag names in brackets), checked here; errors name
   * the flag.
   *
   * @param bf16 mixed precision: 16-bit weights, gradients and activations [bf16]
   * @param deviceMemoryBytes one device's memory [device_memory_gb × 2^30]
   */
  public record Options(boolean bf16, int zeroStage, boolean adamOffload, boolean gradientCheckpointing,
      boolean refRewardOffload, boolean flashAttn, int microTrainBatch, int microRolloutBatch, int samplesPerPrompt,
      int promptMaxLen, int generateMaxLen, long deviceMemoryBytes) {
    public Options {
      if (zeroStage < 0 || zeroStage > 3) {
        throw new IllegalArgumentException("--zero_stage must be 0, 1, 2 or 3, got " + zeroStage);
      }
      positive("micro_train_batch_size", microTrainBatch);
      positive("micro_rollout_batch_size", microRolloutBatch);
      positive("n_samples_per_prompt", samplesPerPrompt);
      positive("prompt_max_len", promptMaxLen);
      if (generateMaxLen < 0) {
        throw new IllegalArgumentException("--generate_max_len must be ≥ 0, got " + generateMaxLen);
      }
      if (deviceMemoryBytes <= 0) {
        throw new IllegalArgumentException("--device_memory_gb must be > 0");
      }
    }

    private static void positive(String flag, int v) {
      if (v < 1) {
        throw new IllegalArgumentException("--" + flag + " must be ≥ 1, got " + v);
      }
    }

    /** s: the longest sequence, prompt plus response. */
    public long sequenceLength() {
      return (long) promptMaxLen + generateMaxLen;
    }

    /** Bytes per weight, activation and KV element: 2 with bf16, else 4. */
    public int elementBytes() {
      return bf16 ? ZeroMemory.HALF : ZeroMemory.FLOAT;
    }
  }

  /**
   * One role's plan.
   *
   * @param shards how many ways its weights are divided (ZeRO-3 ranks, or the rollout's tensor-parallel size)
   * @param tp the rollout's tensor-parallel size (1 for the other roles)
   * @param perDevice what one device of the group holds
   * @param hostBytes host memory per device (offloaded optimizer state or frozen weights)
   * @param deepSpeedBytes DeepSpeed's own model-state estimate per GPU for a trainer at ZeRO ≥ 1, else -1
   */
  public record RolePlan(Role role, List<ModelSize> models, DeviceGroup group, int shards, int tp,
      DeviceBytes perDevice, long hostBytes, long deepSpeedBytes, long deviceMemoryBytes) {
    public RolePlan {
      models = List.copyOf(models);
    }

    /** Ψ summed over the role's models. */
    public long params() {
      return models.stream().mapToLong(ModelSize::params).sum();
    }

    public boolean fits() {
      return perDevice.total() <= deviceMemoryBytes;
    }
  }

  /**
   * Roles that share devices, summed on their most loaded device. rlhf-node runs the roles of a node
   * concurrently (scoring forwards in parallel, policy and critic updates in parallel), so
   * {@link #perDevice} adds everything, activations included; {@link #sequentialTotal} is the peak when
   * the phases alternate instead (as in OpenRLHF's colocated hybrid engine): the resident weights, gradients,
   * optimizer state and KV cache plus only the largest role's activations.
   *
   * @param devices the devices of the union of their groups
   * @param perDevice the sum, on the most loaded shared device, of what each role there holds
   */
  public record Colocation(List<Role> roles, int devices, DeviceBytes perDevice, long sequentialTotal,
      long hostBytes, long deviceMemoryBytes) {
    public Colocation {
      roles = List.copyOf(roles);
    }

    public boolean fits() {
      return perDevice.total() <= deviceMemoryBytes;
    }

    /** Whether the device holds the roles when their phases alternate. */
    public boolean fitsSequential() {
      return sequentialTotal <= deviceMemoryBytes;
    }
  }

  /** The actor or critic: ZeRO model states over the group's devices and one training micro-batch. */
  public static RolePlan trainer(Role role, ModelSize m, DeviceGroup g, Options o) {
    if (role != Role.ACTOR && role != Role.CRITIC) {
      throw new IllegalArgumentException("trainer roles are actor and critic, got " + role);
    }
    int ranks = g.devices();
    ZeroMemory states = ZeroMemory.trainer(m.params(), o.zeroStage(), ranks, o.bf16(), o.adamOffload());
    long activations = ActivationMemory.training(m, o.sequenceLength(), o.microTrainBatch(), o.bf16(), o.flashAttn(),
        o.gradientCheckpointing(), role == Role.CRITIC);
    DeviceBytes bytes = new DeviceBytes(states.weights(), states.grads(), states.optimizer(), activations, 0);
    long deepSpeed = DeepSpeedEstimate.perGpu(o.zeroStage(), m, g.devicesPerNode(), g.nodes(), o.adamOffload());
    return new RolePlan(role, List.of(m), g, o.zeroStage() == 3 ? ranks : 1, 1, bytes, states.host(), deepSpeed,
        o.deviceMemoryBytes());
  }

  /**
   * The rollout engines: each of the group's devices is one rank of a t-way tensor-parallel engine, holding
   * ⌈Ψ/t⌉ weights, its share of the KV cache and a prefill forward.
   */
  public static RolePlan rollout(ModelSize m, DeviceGroup g, int tp, Options o) {
    if (tp < 1 || g.devices() % tp != 0) {
      throw new IllegalArgumentException("--vllm_tensor_parallel_size " + tp + " must divide the rollout's "
          + g.devices() + " device(s)");
    }
    long sequences = (long) o.microRolloutBatch() * o.samplesPerPrompt();
    long weights = o.elementBytes() * ZeroMemory.share(m.params(), tp);
    long kv = ActivationMemory.kvCache(m, tp, sequences, o.sequenceLength(), o.elementBytes());
    long prefill = ActivationMemory.inference(m, o.promptMaxLen(), sequences, o.bf16(), o.flashAttn(),
        ActivationMemory.logits(m, 1, sequences, false));
    DeviceBytes bytes = new DeviceBytes(weights, 0, 0, prefill, kv);
    return new RolePlan(Role.ROLLOUT, List.of(m), g, tp, tp, bytes, 0, -1, o.deviceMemoryBytes());
  }

  /** The reference or reward role: frozen weights and one scoring forward of micro_rollout_batch_size rows. */
  public static RolePlan scorer(Role role, List<ModelSize> models, DeviceGroup g, Options o) {
    if (role != Role.REFERENCE && role != Role.REWARD) {
      throw new IllegalArgumentException("scoring roles are reference and reward, got " + role);
    }
    if (models.isEmpty()) {
      throw new IllegalArgumentException(role.jsonName() + " needs at least one model");
    }
    int shards = o.zeroStage() == 3 ? g.devices() : 1;
    long weights = 0;
    long host = 0;
    long activations = 0;
    for (ModelSize m : models) {
      ZeroMemory w = ZeroMemory.inference(m, shards, o.elementBytes(), o.refRewardOffload());
      weights += w.weights();
      host += w.host();
      long out = ActivationMemory.logits(m, o.sequenceLength(), o.microRolloutBatch(), role == Role.REWARD);
      activations = Math.max(activations, ActivationMemory.inference(m, o.sequenceLength(), o.microRolloutBatch(),
          o.bf16(), o.flashAttn(), out));
    }
    DeviceBytes bytes = new DeviceBytes(weights, 0, 0, activations, 0);
    return new RolePlan(role, models, g, shards, 1, bytes, host, -1, o.deviceMemoryBytes());
  }

  /**
   * The groups of roles that share devices (connected by {@link DeviceGroup#overlaps}), each summed on its
   * most loaded device; roles alone on their devices are left out.
   */
  public static List<Colocation> colocations(List<RolePlan> plans) {
    List<Set<Integer>> components = components(plans);
    List<Colocation> out = new ArrayList<>();
    for (Set<Integer> component : components) {
      if (component.size() < 2) {
        continue;
      }
      Map<String, DeviceBytes> perDevice = new LinkedHashMap<>();
      Map<String, Long> hostPerDevice = new LinkedHashMap<>();
      Map<String, Long> maxActivations = new LinkedHashMap<>();
      List<Role> roles = new ArrayList<>();
      for (int i : component) {
        RolePlan p = plans.get(i);
        roles.add(p.role());
        for (String id : p.group().ids()) {
          String key = p.group().machine() + "/" + id;
          perDevice.merge(key, p.perDevice(), DeviceBytes::plus);
          hostPerDevice.merge(key, p.hostBytes(), Long::sum);
          maxActivations.merge(key, p.perDevice().activations(), Math::max);
        }
      }
      String worst = perDevice.keySet().iterator().next();
      for (Map.Entry<String, DeviceBytes> e : perDevice.entrySet()) {
        if (e.getValue().total() > perDevice.get(worst).total()) {
          worst = e.getKey();
        }
      }
      DeviceBytes sum = perDevice.get(worst);
      long sequential = sum.total() - sum.activations() + maxActivations.get(worst);
      out.add(new Colocation(roles, perDevice.size(), sum, sequential, hostPerDevice.get(worst),
          plans.get(component.iterator().next()).deviceMemoryBytes()));
    }
    return out;
  }

  private static List<Set<Integer>> components(List<RolePlan> plans) {
    int[] parent = new int[plans.size()];
    for (int i = 0; i < parent.length; i++) {
      parent[i] = i;
    }
    for (int i = 0; i < plans.size(); i++) {
      for (int j = i + 1; j < plans.size(); j++) {
        if (plans.get(i).group().overlaps(plans.get(j).group())) {
          parent[root(parent, i)] = root(parent, j);
        }
      }
    }
    Map<Integer, Set<Integer>> byRoot = new LinkedHashMap<>();
    for (int i = 0; i < plans.size(); i++) {
      byRoot.computeIfAbsent(root(parent, i), r -> new LinkedHashSet<>()).add(i);
    }
    return new ArrayList<>(byRoot.values());
  }

  private static int root(int[] parent, int i) {
    while (parent[i] != i) {
      i = parent[i];
    }
    return i;
  }
}
