package org.rlhfnode.runtime.model;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The HF tensor names and shapes a config implies, in checkpoint order. The loader checks files
 * against it, random initialisation fills it, and the model looks its weights up by these names.
 */
public final class ParameterLayout {
  /** Name of the scalar reward/value head ([1, d], no bias) of reward and critic models. */
  public static final String SCORE = "score.weight";
  public static final String LM_HEAD = "lm_head.weight";
  public static final String EMBED = "model.embed_tokens.weight";

  private ParameterLayout() {}

  /** Every tensor of the causal LM (without the optional score head). */
  public static Map<String, long[]> of(ModelConfig c) {
    Map<String, long[]> m = new LinkedHashMap<>();
    long d = c.hiddenSize();
    long q = (long) c.numHeads() * c.headDim();
    long kv = (long) c.numKvHeads() * c.headDim();
    m.put(EMBED, new long[] {c.vocabSize(), d});
    for (int i = 0; i < c.numLayers(); i++) {
      String p = layerPrefix(i);
      m.put(p + "input_layernorm.weight", new long[] {d});
      m.put(p + "self_attn.q_proj.weight", new long[] {q, d});
      m.put(p + "self_attn.k_proj.weight", new long[] {kv, d});
      m.put(p + "self_attn.v_proj.weight", new long[] {kv, d});
      m.put(p + "self_attn.o_proj.weight", new long[] {d, q});
      if (c.qkvBias()) {
        m.put(p + "self_attn.q_proj.bias", new long[] {q});
        m.put(p + "self_attn.k_proj.bias", new long[] {kv});
        m.put(p + "self_attn.v_proj.bias", new long[] {kv});
      }
      if (c.outputBias()) {
        m.put(p + "self_attn.o_proj.bias", new long[] {d});
      }
      m.put(p + "post_attention_layernorm.weight", new long[] {d});
      putFfn(m, c, p);
    }
    m.put("model.norm.weight", new long[] {d});
    if (!c.tieWordEmbeddings()) {
      m.put(LM_HEAD, new long[] {c.vocabSize(), d});
    }
    return m;
  }

  private static void putFfn(Map<String, long[]> m, ModelConfig c, String p) {
    long d = c.hiddenSize();
    long f = c.intermediateSize();
    if (!c.isMoe()) {
      m.put(p + "mlp.gate_proj.weight", new long[] {f, d});
      m.put(p + "mlp.up_proj.weight", new long[] {f, d});
      m.put(p + "mlp.down_proj.weight", new long[] {d, f});
      return;
    }
    m.put(p + "block_sparse_moe.gate.weight", new long[] {c.numExperts(), d});
    for (int e = 0; e < c.numExperts(); e++) {
      String x = p + "block_sparse_moe.experts." + e + ".";
      m.put(x + "w1.weight", new long[] {f, d});
      m.put(x + "w2.weight", new long[] {d, f});
      m.put(x + "w3.weight", new long[] {f, d});
    }
  }

  /** {@code model.layers.i.} */
  public static String layerPrefix(int i) {
    return "model.layers." + i + ".";
  }

  /** True for tensors that are multiplied (matrices, embeddings), false for norms and biases. */
  public static boolean isMatrix(long[] shape) {
    return shape.length == 2;
  }
}
