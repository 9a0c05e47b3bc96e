package org.rlhfnode.runtime.plan;

/**
 * Model-state memory per device under ZeRO (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward
 * Training Trillion Parameter Models", §3 and Fig. 1; DeepSpeed's memory docs,
 * https://deepspeed.readthedocs.io/en/latest/memory.html). For Ψ parameters trained with Adam(W) over N
 * data-parallel ranks:
 *
 * <pre>
 *                         weights       grads         optimizer
 * mixed precision (bf16)  2Ψ            2Ψ            12Ψ = 4Ψ fp32 masters + 4Ψ m + 4Ψ v
 * fp32                    4Ψ            4Ψ            8Ψ  = 4Ψ m + 4Ψ v (no masters)
 * stage 0                 ÷1            ÷1            ÷1
 * stage 1                 ÷1            ÷1            ÷N
 * stage 2                 ÷1            ÷N            ÷N
 * stage 3                 ÷N            ÷N            ÷N
 * </pre>
 * so stage 0 holds (2 + 2 + 12)Ψ = 16Ψ bytes per device in mixed precision and stage 3 holds 16Ψ/N. A
 * divided term is k·⌈Ψ/N⌉ (a rank owns ⌈Ψ/N⌉ elements). {@code --adam_offload} (DeepSpeed's
 * {@code offload_optimizer: cpu}) moves the optimizer term, masters included, to host memory; the device
 * keeps weights and gradients. Inference-only models hold weights only: bytes·Ψ, divided over the ranks
 * that shard them.
 *
 * <p>Not counted (DeepSpeed's estimator counts some, see {@link DeepSpeedEstimate}): communication
 * buckets, the fp32 gradient partition DeepSpeed converts to before the step, and at stage 3 the gathered
 * parameters of the layer in use (about 4 bytes × its parameters).
 *
 * @param weights device bytes of weights
 * @param grads device bytes of gradients
 * @param optimizer device bytes of optimizer state (0 when offloaded)
 * @param host host bytes per device (the offloaded optimizer state)
 */
public record ZeroMemory(long weights, long grads, long optimizer, long host) {
  /** Bytes per element of 16-bit (bf16/fp16) tensors. */
  public static final int HALF = 2;
  /** Bytes per element of fp32 tensors. */
  public static final int FLOAT = 4;
  /** K of the ZeRO paper for mixed-precision Adam: fp32 master weights, momentum and variance. */
  public static final int MIXED_ADAM_BYTES = 12;
  /** Adam's momentum and variance in fp32 when the weights themselves are fp32. */
  public static final int FP32_ADAM_BYTES = 8;

  /**
   * A trainer's model states per device.
   *
   * @param params Ψ
   * @param stage ZeRO stage 0..3
   * @param ranks N, the data-parallel ranks the states are divided over
   * @param bf16 mixed precision (bf16 weights and gradients, fp32 masters) rather than fp32
   * @param adamOffload optimizer state (and masters) in host memory
   */
  public static ZeroMemory trainer(long params, int stage, int ranks, boolean bf16, boolean adamOffload) {
    if (stage < 0 || stage > 3) {
      throw new IllegalArgumentException("--zero_stage must be 0, 1, 2 or 3, got " + stage);
    }
    if (ranks < 1) {
      throw new IllegalArgumentException("a trainer needs at least one rank, got " + ranks);
    }
    int w = bf16 ? HALF : FLOAT;
    int k = bf16 ? MIXED_ADAM_BYTES : FP32_ADAM_BYTES;
    long weights = w * share(params, stage >= 3 ? ranks : 1);
    long grads = w * share(params, stage >= 2 ? ranks : 1);
    long optimizer = k * share(params, stage >= 1 ? ranks : 1);
    return adamOffload ? new ZeroMemory(weights, grads, 0, optimizer) : new ZeroMemory(weights, grads, optimizer, 0);
  }

  /**
   * A frozen model's weights per device: {@code bytesPerParam}·⌈Ψ/shards⌉, or, when offloaded, one gathered
   * module on the device and the rest in host memory.
   */
  public static ZeroMemory inference(ModelSize model, int shards, int bytesPerParam, boolean offload) {
    long weights = bytesPerParam * share(model.params(), shards);
    if (offload) {
      return new ZeroMemory(bytesPerParam * model.largestModuleParams(), 0, 0, weights);
    }
    return new ZeroMemory(weights, 0, 0, 0);
  }

  /** ⌈Ψ/N⌉: the elements one of N ranks owns. */
  public static long share(long params, int ranks) {
    return (params + ranks - 1) / ranks;
  }

  /** Weights + gradients + optimizer on the device. */
  public long deviceTotal() {
    return weights + grads + optimizer;
  }
}
