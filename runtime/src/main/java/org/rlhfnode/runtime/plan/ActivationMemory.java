package org.rlhfnode.runtime.plan;

/**
 * Estimates of activation and KV-cache memory per device. These are estimates, not measurements: they
 * count the tensors a transformer layer keeps for backward, not allocator slack or temporary buffers.
 *
 * <p>Per decoder layer, for sequence length s, micro-batch b, hidden size h and a attention heads, in
 * 16-bit precision without recomputation (Korthikanti et al. 2022, "Reducing Activation Recomputation in
 * Large Transformer Models", §4.1, eq. 1):
 * <pre>
 *   A_layer = s·b·h·(34 + 5·a·s/h) bytes
 * </pre>
 * where 34·s·b·h is attention (11), MLP (19) and the two norms (4), and 5·a·s²·b is the attention scores,
 * softmax and its dropout mask. A fused attention kernel (FlashAttention, {@code --flash_attn}; libtorch's
 * SDPA) never materialises the s×s matrices, so that term is left out with {@code fusedAttention}. fp32
 * activations take twice the bytes. The formula is written for a GPT MLP of 4h; Llama's SwiGLU MLP and its
 * lack of dropout shift the constant a little either way, which the estimate ignores.
 * <ul>
 *   <li>training, no recomputation: L·A_layer + logits;
 *   <li>training with gradient checkpointing: each layer keeps only its input, 2·s·b·h bytes, and one layer
 *       is recomputed at a time: L·2·s·b·h + A_layer + logits;
 *   <li>a forward without gradients (reference, reward, rollout prefill): one layer's A_layer + logits.
 * </ul>
 * Logits are fp32: b·s·V·4 bytes for a language-model head over vocabulary V, b·s·4 for a score head.
 *
 * <p>The rollout KV cache holds keys and values for every layer and position of the sequences it
 * generates at once: 2·L·⌈kv/t⌉·d·bytes·B·(prompt + generate), where kv is the key/value heads, d the head
 * dimension, t the tensor-parallel size (each rank keeps ⌈kv/t⌉ heads; with t &gt; kv heads are
 * replicated, as vLLM does) and B the concurrent sequences.
 */
public final class ActivationMemory {
  /** Bytes per layer and token·hidden that Korthikanti et al. count outside attention scores. */
  public static final int LAYER_BYTES = 34;
  /** Bytes per head and token² of unfused attention (scores, softmax, dropout mask). */
  public static final int ATTENTION_SCORE_BYTES = 5;
  /** Bytes per token·hidden a checkpointed layer keeps (its 16-bit input). */
  public static final int CHECKPOINT_BYTES = 2;
  /** Logits and scores are fp32. */
  public static final int LOGIT_BYTES = 4;

  private ActivationMemory() {}

  /**
   * A_layer: one decoder layer's activations for b sequences of s tokens, 16-bit ({@code bf16}) or fp32.
   */
  public static long layer(ModelSize m, long s, long b, boolean bf16, boolean fusedAttention) {
    long h = m.hidden();
    long a = m.config().numHeads();
    long bytes = LAYER_BYTES * s * b * h + (fusedAttention ? 0 : ATTENTION_SCORE_BYTES * a * s * s * b);
    return bf16 ? bytes : 2 * bytes;
  }

  /** fp32 logits of b·s positions: over the vocabulary, or one score each for a value/reward head. */
  public static long logits(ModelSize m, long s, long b, boolean scoreHead) {
    return LOGIT_BYTES * s * b * (scoreHead ? 1 : m.config().vocabSize());
  }

  /**
   * A training micro-batch: L·A_layer + logits, or with gradient checkpointing L·2·s·b·h + A_layer + logits
   * (doubled in fp32).
   */
  public static long training(ModelSize m, long s, long b, boolean bf16, boolean fusedAttention,
      boolean checkpointing, boolean scoreHead) {
    long layer = layer(m, s, b, bf16, fusedAttention);
    long kept;
    if (checkpointing) {
      long inputs = CHECKPOINT_BYTES * s * b * m.hidden() * (bf16 ? 1 : 2);
      kept = m.layers() * inputs + layer;
    } else {
      kept = m.layers() * layer;
    }
    return kept + logits(m, s, b, scoreHead);
  }

  /** A forward without gradients: one layer's A_layer + {@code logitBytes} of output. */
  public static long inference(ModelSize m, long s, long b, boolean bf16, boolean fusedAttention, long logitBytes) {
    return layer(m, s, b, bf16, fusedAttention) + logitBytes;
  }

  /** 2·L·⌈kv/t⌉·d·bytes·sequences·tokens: the KV cache one tensor-parallel rank holds. */
  public static long kvCache(ModelSize m, int tp, long sequences, long tokens, int bytesPerElement) {
    long kvPerRank = (m.config().numKvHeads() + tp - 1) / tp;
    return 2L * m.layers() * kvPerRank * m.config().headDim() * bytesPerElement * sequences * tokens;
  }
}
