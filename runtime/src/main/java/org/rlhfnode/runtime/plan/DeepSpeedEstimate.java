package org.rlhfnode.runtime.plan;

/**
 * DeepSpeed's own model-state estimators, reproduced number for number so the planner's ZeRO arithmetic
 * ({@link ZeroMemory}) can be compared with them: {@code estimate_zero2_model_states_mem_needs} (module
 * {@code deepspeed.runtime.zero.stage_1_and_2}, used for stages 1 and 2) and
 * {@code estimate_zero3_model_states_mem_needs} ({@code deepspeed.runtime.zero.stage3}); documented at
 * https://deepspeed.readthedocs.io/en/latest/memory.html. With P parameters, G GPUs in all, g per node,
 * M nodes, buffer factor f (1.5) and the largest layer's parameters ℓ:
 *
 * <pre>
 * ZeRO-2   offload_optimizer=cpu   GPU 2P                          CPU P·max(4G, 16)·f
 *          none                    GPU 4P + ⌊16P/G⌋                CPU 4P·g·f
 * ZeRO-3   offload param+optimizer GPU 4ℓ                          CPU 18P·f/M (zero.Init)
 *          offload optimizer only  GPU 4ℓ + ⌊2P/G⌋                 CPU 16P·f/M (zero.Init)
 *          none                    GPU 4ℓ + ⌊18P/G⌋                CPU 4ℓ·g·f  (zero.Init)
 * </pre>
 * The estimators are more conservative than the ZeRO paper's 2Ψ + (2 + 12)Ψ/N at stage 2: they keep a
 * full 16-bit gradient buffer (4P = 2P weights + 2P gradients) and an fp32 gradient partition (16 = 12 + 4
 * per sharded parameter); at stage 3, 18 = 2 (16-bit weights) + 4 (fp32 gradients) + 12 (optimizer), plus
 * 4ℓ for gathering the largest layer's 16-bit weights and gradients. As in Python, products are computed
 * in double precision and truncated to integers.
 *
 * @param gpuBytes per-GPU bytes
 * @param cpuBytes per-node CPU bytes
 */
public record DeepSpeedEstimate(long gpuBytes, long cpuBytes) {
  /** DeepSpeed's default {@code additional_buffer_factor}. */
  public static final double BUFFER_FACTOR = 1.5;

  /** {@code estimate_zero2_model_states_mem_needs(total_params, g, M, cpu_offload, 1.5)}. */
  public static DeepSpeedEstimate zero2(long totalParams, int gpusPerNode, int nodes, boolean cpuOffload) {
    double p = totalParams;
    int totalGpus = gpusPerNode * nodes;
    if (cpuOffload) {
      return new DeepSpeedEstimate((long) (2 * p), (long) (p * Math.max(4 * totalGpus, 16) * BUFFER_FACTOR));
    }
    long gpu = (long) (4 * p) + (long) (16 * p / totalGpus);
    return new DeepSpeedEstimate(gpu, (long) (p * 4 * gpusPerNode * BUFFER_FACTOR));
  }

  /**
   * {@code estimate_zero3_model_states_mem_needs(total_params, largest_layer_params, g, M, cpu_offload,
   * cpu_offload_params, zero_init=True, 1.5)}.
   */
  public static DeepSpeedEstimate zero3(long totalParams, long largestLayerParams, int gpusPerNode, int nodes,
      boolean cpuOffload, boolean cpuOffloadParams) {
    double p = totalParams;
    int totalGpus = gpusPerNode * nodes;
    double gpusFactor = 1.0 / nodes;
    long largestLayerMemory = 4 * largestLayerParams;
    if (cpuOffload && cpuOffloadParams) {
      return new DeepSpeedEstimate(largestLayerMemory, (long) (p * 18 * gpusFactor * BUFFER_FACTOR));
    }
    if (cpuOffload) {
      return new DeepSpeedEstimate(largestLayerMemory + (long) (2 * p / totalGpus),
          (long) (p * 16 * gpusFactor * BUFFER_FACTOR));
    }
    return new DeepSpeedEstimate(largestLayerMemory + (long) (18 * p / totalGpus),
        (long) (largestLayerParams * 4.0 * gpusPerNode * BUFFER_FACTOR));
  }

  /**
   * What DeepSpeed estimates for a trainer at {@code stage} (1 and 2 use the stage-1-and-2 estimator; stage 0
   * has none: -1), optimizer offloaded or not, parameters never offloaded (OpenRLHF's {@code --adam_offload}).
   */
  public static long perGpu(int stage, ModelSize model, int gpusPerNode, int nodes, boolean adamOffload) {
    if (stage == 0) {
      return -1;
    }
    if (stage < 3) {
      return zero2(model.params(), gpusPerNode, nodes, adamOffload).gpuBytes();
    }
    return zero3(model.params(), model.largestModuleParams(), gpusPerNode, nodes, adamOffload, false).gpuBytes();
  }
}
