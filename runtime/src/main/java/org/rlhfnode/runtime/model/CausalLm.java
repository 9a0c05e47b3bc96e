package org.rlhfnode.runtime.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * A decoder-only transformer (Llama, Qwen2, Mistral, Mixtral) over HF-named weights. It takes
 * left-padded batches with an attention mask, derives position ids as HF's {@code generate} does,
 * and optionally reads and extends a {@link KvCache}. Logits come from {@code lm_head} (or the tied
 * embedding); reward and critic models add a {@code score} head. The model owns its weight tensors
 * until {@link #close}.
 *
 * <p>A tensor-parallel model ({@link #create(ModelConfig, Map, DeviceSpec, TensorParallel)}) holds one
 * rank's slices (see {@link TensorParallel}); every rank runs the same calls in the same order, and
 * each forward ends with the same full logits on every rank.
 */
public final class CausalLm implements AutoCloseable {
  /** Module name of the output projection in {@link #linears()}. */
  public static final String LM_HEAD_MODULE = "lm_head";
  /** Module name of the reward / value head in {@link #linears()}. */
  public static final String SCORE_MODULE = "score";
  private final ModelConfig config;
  private final DeviceSpec device;
  private final ScalarType dtype;
  private final Map<String, Tensor> parameters;
  private final Tensor embedding; // [V, d]
  private final List<DecoderLayer> layers;
  private final RmsNorm finalNorm;
  private final Linear lmHead; // null for score-only checkpoints
  private final Linear scoreHead; // null for plain LMs
  private final Rope rope;
  private final TensorParallel tp; // null: this process holds the whole model
  private final VocabParallel vocabParallel; // the sharded embedding and lm_head; null without tp
  // Filled while the layers are built, in checkpoint order; keys are HF module names.
  private final Map<String, Linear> linears = new LinkedHashMap<>();
  private volatile LayerRunner runner; // null: each layer's plain forward
  private volatile boolean packing; // forwards without cache carry only the real tokens (TokenLayout.packed)
  private final java.util.concurrent.atomic.AtomicLongArray packed = new java.util.concurrent.atomic.AtomicLongArray(2);

  private CausalLm(ModelConfig config, Map<String, Tensor> parameters, DeviceSpec device, TensorParallel tp) {
    this.config = config;
    this.device = device;
    this.tp = tp;
    this.parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    this.parameters.values().forEach(Tensor::retainReference);
    this.embedding = parameters.get(ParameterLayout.EMBED);
    this.dtype = embedding.scalar_type().intern();
    List<DecoderLayer> built = new ArrayList<>();
    for (int i = 0; i < config.numLayers(); i++) {
      built.add(layer(i));
    }
    this.layers = List.copyOf(built);
    this.finalNorm = new RmsNorm(parameters.get("model.norm.weight"), config.rmsNormEps());
    Tensor head = config.tieWordEmbeddings() ? embedding : parameters.get(ParameterLayout.LM_HEAD);
    this.lmHead = head == null ? null
        : register(LM_HEAD_MODULE, tp == null ? new Linear(head, null) : Linear.slice(head, null));
    this.vocabParallel = tp == null ? null : new VocabParallel(embedding, lmHead, config, tp);
    Tensor score = parameters.get(ParameterLayout.SCORE);
    this.scoreHead = score == null ? null : register(SCORE_MODULE, new Linear(score, null));
    this.rope = new Rope(config);
  }

  /**
   * Builds the model over {@code parameters} (HF names). Every tensor {@link ParameterLayout} lists
   * must be present with its shape and one common dtype; {@code lm_head.weight} may be absent when a
   * {@code score.weight} head is present.
   */
  public static CausalLm create(ModelConfig config, Map<String, Tensor> parameters, DeviceSpec device) {
    return create(config, parameters, device, null);
  }

  /**
   * Builds rank {@code tp.rank()}'s part of a tensor-parallel model over its slices of the weights
   * (shapes as {@link TensorSlice#localShapes} gives them). A null {@code tp}, or a group of one, is
   * the whole model of {@link #create(ModelConfig, Map, DeviceSpec)}.
   *
   * @throws ConfigException if the config does not split {@code tp.size()} ways
   */
  public static CausalLm create(ModelConfig config, Map<String, Tensor> parameters, DeviceSpec device,
      TensorParallel tp) {
    TensorParallel split = tp == null || tp.size() == 1 ? null : tp;
    Map<String, long[]> layout = split == null ? ParameterLayout.of(config)
        : TensorSlice.localShapes(config, split, ParameterLayout.of(config));
    ScalarType common = null;
    for (Map.Entry<String, long[]> e : layout.entrySet()) {
      Tensor t = parameters.get(e.getKey());
      boolean optionalHead = e.getKey().equals(ParameterLayout.LM_HEAD)
          && parameters.containsKey(ParameterLayout.SCORE);
      if (t == null && optionalHead) {
        continue;
      }
      if (t == null) {
        throw new IllegalArgumentException("missing tensor " + e.getKey());
      }
      checkShape(e.getKey(), t, e.getValue());
      common = common == null ? t.scalar_type().intern() : common;
      if (t.scalar_type().intern() != common) {
        throw new IllegalArgumentException("tensor " + e.getKey() + " is " + t.scalar_type().intern()
            + " but the others are " + common);
      }
    }
    Tensor score = parameters.get(ParameterLayout.SCORE);
    if (score != null) {
      checkShape(ParameterLayout.SCORE, score, new long[] {1, config.hiddenSize()});
    }
    return new CausalLm(config, parameters, device, split);
  }

  private static void checkShape(String name, Tensor t, long[] expected) {
    long[] actual = Tensors.shape(t);
    if (!Arrays.equals(actual, expected)) {
      throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(actual)
          + ", expected " + Arrays.toString(expected) + " from config.json");
    }
  }

  private DecoderLayer layer(int i) {
    String p = ParameterLayout.layerPrefix(i);
    int heads = tp == null ? config.numHeads() : tp.localHeads(config);
    int kvHeads = tp == null ? config.numKvHeads() : tp.localKvHeads(config);
    Attention attn = new Attention(sliced(p + "self_attn.q_proj"), sliced(p + "self_attn.k_proj"),
        sliced(p + "self_attn.v_proj"), row(p + "self_attn.o_proj"), heads, kvHeads, config.headDim());
    FeedForward ffn;
    if (config.isMoe()) {
      Linear router = linear(p + "block_sparse_moe.gate");
      List<Mlp> experts = new ArrayList<>();
      for (int e = 0; e < config.numExperts(); e++) {
        String x = p + "block_sparse_moe.experts." + e + ".";
        Linear w1 = sliced(x + "w1");
        Linear w2 = sliced(x + "w2"); // row-parallel, but summed once for all experts
        experts.add(new Mlp(w1, sliced(x + "w3"), w2));
      }
      ffn = new MoeMlp(router, experts, config.numExpertsPerTok(), tp); // tp: one all-reduce for all experts
    } else {
      ffn = new Mlp(sliced(p + "mlp.gate_proj"), sliced(p + "mlp.up_proj"), row(p + "mlp.down_proj"));
    }
    return new DecoderLayer(norm(p + "input_layernorm"), attn, norm(p + "post_attention_layernorm"), ffn);
  }

  private Linear linear(String prefix) {
    return register(prefix, new Linear(weight(prefix), bias(prefix)));
  }

  /**
   * Under tp, this rank's slice with no reduction of its own (column-parallel, or an expert's w2 that
   * its MoE block sums); else the whole projection.
   */
  private Linear sliced(String prefix) {
    return tp == null ? linear(prefix) : register(prefix, Linear.slice(weight(prefix), bias(prefix)));
  }

  /** A row-parallel projection under tp (this rank's input features, outputs all-reduced), else the whole one. */
  private Linear row(String prefix) {
    return tp == null ? linear(prefix) : register(prefix, Linear.rowParallel(weight(prefix), bias(prefix), tp));
  }

  private Tensor weight(String prefix) {
    return parameters.get(prefix + ".weight");
  }

  private Tensor bias(String prefix) {
    return parameters.get(prefix + ".bias");
  }

  private Linear register(String module, Linear linear) {
    linears.put(module, linear);
    return linear;
  }

  private RmsNorm norm(String prefix) {
    return new RmsNorm(parameters.get(prefix + ".weight"), config.rmsNormEps());
  }

  /**
   * Final hidden states of the new tokens.
   *
   * @param inputIds [B, T] int64, left-padded
   * @param attentionMask [B, T] int64, 1 = real token, 0 = padding
   * @param cache keys/values of earlier tokens of the same rows (extended in place), or null
   * @return [B, T, d] in the model dtype
   */
  public Tensor hidden(Tensor inputIds, Tensor attentionMask, KvCache cache) {
    long t = inputIds.size(1);
    Tensor mask = attentionMask.to(ScalarType.Long);
    Tensor positions; // [B, T]
    Tensor keyValid; // [B, S]
    long queryStart = 0;
    if (cache == null) {
      positions = torch.cumsum(mask, 1).sub(new Scalar(1L)).masked_fill(mask.eq(new Scalar(0L)), new Scalar(1L));
      keyValid = mask.to(ScalarType.Bool);
    } else {
      queryStart = cache.length();
      positions = cache.admit(mask);
      keyValid = cache.keyValid(t);
    }
    Tensor attnMask = attentionMask(keyValid, queryStart, t, config.slidingWindow());
    TokenLayout layout = cache == null && packing ? TokenLayout.packed(mask, attnMask) : TokenLayout.padded(attnMask);
    if (layout.isPacked()) {
      packed.addAndGet(0, layout.tokens());
      packed.addAndGet(1, inputIds.numel());
    }
    Tensor[] cosSin = rope.cosSin(positions, dtype);
    LayerRunner r = runner;
    if (r != null) {
      r.beforeForward();
    }
    Tensor ids = layout.carry(inputIds);
    Tensor h = vocabParallel == null ? torch.embedding(embedding, ids) : vocabParallel.embed(ids);
    for (int i = 0; i < layers.size(); i++) {
      KvCache.Layer layerCache = cache == null ? null : cache.layer(i);
      h = r == null ? layers.get(i).forward(h, cosSin[0], cosSin[1], layout, layerCache)
          : r.layer(i, layers.get(i), h, cosSin[0], cosSin[1], layout, layerCache);
    }
    if (cache != null) {
      cache.commit(t);
    }
    return layout.pad(finalNorm.forward(h), inputIds.size(0), t);
  }

  /**
   * Which keys each query may attend: key valid, not in the future, inside the sliding window
   * (q − k < W). A query always sees itself, so padded query rows stay finite instead of NaN.
   *
   * @param keyValid [B, S] bool
   * @return [B, 1, T, S] bool
   */
  static Tensor attentionMask(Tensor keyValid, long queryStart, long t, int window) {
    long s = keyValid.size(1);
    TensorOptions onDevice = new TensorOptions(ScalarType.Long).device(new DeviceOptional(keyValid.device()));
    Tensor q = torch.arange(new Scalar(queryStart), new Scalar(queryStart + t), onDevice).unsqueeze(1); // [T, 1]
    Tensor k = torch.arange(new Scalar(0L), new Scalar(s), onDevice).unsqueeze(0); // [1, S]
    Tensor allowed = k.le(q); // [T, S]
    if (window > 0) {
      allowed = allowed.logical_and(q.sub(k).lt(new Scalar((long) window)));
    }
    Tensor full = allowed.unsqueeze(0).logical_and(keyValid.unsqueeze(1)); // [B, T, S]
    return full.logical_or(k.eq(q).unsqueeze(0)).unsqueeze(1);
  }

  /** Next-token logits [B, T, V] in float32 from hidden states [B, T, d]. */
  public Tensor logits(Tensor hidden) {
    if (lmHead == null) {
      throw new IllegalStateException("this checkpoint has no lm_head (a score-only model)");
    }
    return vocabParallel == null ? lmHead.forward(hidden).to(ScalarType.Float) : vocabParallel.logits(hidden);
  }

  /** Scalar score per position [B, T] in float32 (reward / value head). */
  public Tensor scores(Tensor hidden) {
    if (scoreHead == null) {
      throw new IllegalStateException("this checkpoint has no score head (score.weight)");
    }
    return scoreHead.forward(hidden).squeeze(-1).to(ScalarType.Float);
  }

  /** Logits [B, T, V] for a batch without cache. */
  public Tensor forward(Tensor inputIds, Tensor attentionMask) {
    return logits(hidden(inputIds, attentionMask, null));
  }

  /** A KV cache sized for this model (for this rank's KV heads under tensor parallelism). */
  public KvCache newCache(int batch, int capacity) {
    return tp == null ? KvCache.allocate(config, batch, capacity, dtype, device)
        : KvCache.allocate(config, tp.localKvHeads(config), batch, capacity, dtype, device);
  }

  /**
   * Sequence packing for forwards without a KV cache (OpenRLHF's {@code --packing_samples}): only the real
   * tokens of a padded batch, end to end, go through the embedding, norms, projections and MLPs; the hidden
   * states come back in the caller's padded layout, equal to the unpacked ones up to float rounding
   * ({@link TokenLayout}).
   */
  public void setPacking(boolean on) {
    this.packing = on;
  }

  public boolean packing() {
    return packing;
  }

  /** What the packed forwards of this model carried so far. */
  public TokenLayout.Tally packingTally() {
    return new TokenLayout.Tally(packed.get(0), packed.get(1));
  }

  /** Installs how the decoder layers run ({@code null}: plainly); see {@link LayerRunner}. */
  public void setLayerRunner(LayerRunner runner) {
    this.runner = runner;
  }

  /** The tensor-parallel group this model is one rank of, or null for a whole model. */
  public TensorParallel tensorParallel() {
    return tp;
  }

  public boolean hasLmHead() {
    return lmHead != null;
  }

  public boolean hasScoreHead() {
    return scoreHead != null;
  }

  public ModelConfig config() {
    return config;
  }

  public DeviceSpec device() {
    return device;
  }

  public ScalarType dtype() {
    return dtype;
  }

  /**
   * The weights by HF name, in checkpoint order (the tied head is not repeated); under tensor
   * parallelism, this rank's slices.
   */
  public Map<String, Tensor> parameters() {
    return parameters;
  }

  /**
   * Every projection by HF module name (its weight's name without {@code .weight}, such as
   * {@code model.layers.0.self_attn.q_proj}), in checkpoint order, with {@value #LM_HEAD_MODULE}
   * and {@value #SCORE_MODULE} last when present. A tied {@code lm_head} shares the embedding
   * tensor. Unmodifiable; adapters attach through {@link Linear#attach}.
   */
  public Map<String, Linear> linears() {
    return Collections.unmodifiableMap(linears);
  }

  /** Throws if any id is outside the vocabulary; {@code what} names the input in the message. */
  public void checkTokenIds(long[] ids, String what) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= config.vocabSize()) {
        throw new IllegalArgumentException(what + ": token id " + ids[i] + " at index " + i
            + " is outside the vocabulary [0, " + config.vocabSize() + ")");
      }
    }
  }

  @Override
  public void close() {
    parameters.values().forEach(Tensor::releaseReference);
    rope.close();
  }
}
