package org.rlhfnode.node.ppo;

import java.util.List;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/**
 * Reads {@link PpoSettings.Scale}: the trainers' ranks ({@code placement.*_num_gpus_per_node} devices
 * of the role's group, or CPU threads, on each of {@code placement.*_num_nodes} nodes), {@code --zero_stage}, {@code --gradient_checkpointing},
 * {@code --adam_offload}, {@code --packing_samples}, and the tensor-parallel degrees of the inference roles.
 */
final class ScaleSettings {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ScaleSettings.class);

  private ScaleSettings() {}

  static PpoSettings.Scale from(TrainSettings s) {
    int stage = s.integer("train.zero_stage");
    if (stage < 0 || stage > 3) {
      throw new IllegalArgumentException("--zero_stage must be 0, 1, 2 or 3, got " + stage);
    }
    if (s.bool("train.adam_offload") && (ranks(s, "actor").get(0).cuda() || ranks(s, "critic").get(0).cuda())) {
      throw new IllegalArgumentException("--adam_offload on a CUDA device is not implemented yet: the optimizer "
          + "state stays on the device (use --zero_stage 3 over more ranks to divide it)");
    }
    for (String role : List.of("actor", "critic")) {
      List<DeviceSpec> r = ranks(s, role);
      if (r.size() > 1 && r.get(0).cuda()) {
        throw new IllegalArgumentException("--" + role + "_num_gpus_per_node " + r.size() + " on CUDA: trainer ranks are "
            + "proved on CPU (Gloo) only in this version; run examples/gpu-check.sh for the NCCL path");
      }
    }
    if (s.bool("train.adam_offload")) {
      LOG.info("--adam_offload has no effect on a CPU run: the optimizer state is in host memory already");
    }
    return new PpoSettings.Scale(ranks(s, "actor"), ranks(s, "critic"), nodes(s, "actor"), nodes(s, "critic"), stage,
        s.bool("train.gradient_checkpointing"),
        PpoSettings.positive(s, "placement.vllm_tensor_parallel_size"), inferenceRanks(s, "ref"),
        inferenceRanks(s, "reward"), s.bool("train.packing_samples"));
  }

  /** {@code --<role>_num_nodes}: CPU ranks only over several nodes in this version. */
  private static int nodes(TrainSettings s, String role) {
    int n = PpoSettings.positive(s, "placement." + role + "_num_nodes");
    if (n > 1 && ranks(s, role).get(0).cuda()) {
      throw new IllegalArgumentException("--" + role + "_num_nodes " + n + " on CUDA: trainer ranks on several nodes "
          + "are proved on CPU (Gloo) only in this version");
    }
    return n;
  }

  /** Tensor-parallel ranks of an inference role: CPU threads only in this version. */
  private static int inferenceRanks(TrainSettings s, String role) {
    int n = PpoSettings.positive(s, "placement." + role + "_num_gpus_per_node");
    if (n > 1 && PpoSettings.device(s, "placement." + role + "_devices").cuda()) {
      throw new IllegalArgumentException("--" + role + "_num_gpus_per_node " + n + " on CUDA: a tensor-parallel "
          + role + " group is proved on CPU (Gloo) only in this version");
    }
    return n;
  }

  /** The devices of a trainer's ranks: the first N of its group, or N CPU ranks. */
  private static List<DeviceSpec> ranks(TrainSettings s, String role) {
    int n = PpoSettings.positive(s, "placement." + role + "_num_gpus_per_node");
    String path = "placement." + role + "_devices";
    String group = s.string(path).trim();
    if (group.equalsIgnoreCase("cpu")) {
      return java.util.Collections.nCopies(n, DeviceSpec.CPU);
    }
    String[] ids = group.substring(group.indexOf(':') + 1).split(",");
    if (ids.length < n) {
      throw new IllegalArgumentException("--" + role + "_num_gpus_per_node " + n + " but --" + role + "_devices '"
          + group + "' names " + ids.length + " device(s)");
    }
    List<DeviceSpec> out = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(PpoSettings.device(s, path, "cuda:" + ids[i].trim()));
    }
    return out;
  }
}
