package org.rlhfnode.runtime.generate;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.KvCache;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * Batched autoregressive generation. Prompts are left-padded into one batch; one prefill fills a
 * {@link KvCache}, then each decode step feeds one token per active row. Requests with the same prompt
 * (the n samples of a prompt, {@code n_samples_per_prompt}) share its prefill: each distinct prompt is
 * computed once and its cache rows and first logits are copied to every request that has it, as vLLM's
 * prefix caching does for the common GRPO case. Rows that finish (stop token or their own
 * {@code max_new_tokens}) leave the batch and the cache, so they cost nothing more. Runs in inference
 * mode (no autograd graph) with one {@code PointerScope} per step, so native memory does not grow with the
 * number of calls.
 */
public final class GenerationEngine {
  private final CausalLm model;
  private final boolean sharePrefill;

  public GenerationEngine(CausalLm model) {
    this(model, true);
  }

  /** @param sharePrefill compute each distinct prompt once (false: every row its own, for comparisons) */
  public GenerationEngine(CausalLm model, boolean sharePrefill) {
    if (!model.hasLmHead()) {
      throw new IllegalArgumentException("cannot generate with a model that has no lm_head");
    }
    this.model = model;
    this.sharePrefill = sharePrefill;
  }

  /** Generates a continuation for every request (results in request order). */
  public List<GenerationResult> generate(List<GenerationRequest> requests) {
    return run(requests, true, null);
  }

  /** {@link #generate} that also adds its prefill and decode timings to {@code stats}. */
  public List<GenerationResult> generate(List<GenerationRequest> requests, GenerationStats stats) {
    return run(requests, true, stats);
  }

  /**
   * The plain reference path: recomputes the whole prefix at every step, without a KV cache. Same
   * results as {@link #generate}; used to test the cache and to measure what it saves.
   */
  public List<GenerationResult> generateWithoutCache(List<GenerationRequest> requests) {
    return run(requests, false, null);
  }

  /** {@link #generateWithoutCache} with timings. */
  public List<GenerationResult> generateWithoutCache(List<GenerationRequest> requests, GenerationStats stats) {
    return run(requests, false, stats);
  }

  private List<GenerationResult> run(List<GenerationRequest> requests, boolean useCache, GenerationStats stats) {
    if (requests.isEmpty()) {
      return List.of();
    }
    for (int i = 0; i < requests.size(); i++) {
      model.checkTokenIds(requests.get(i).promptIds(), "request " + i + " prompt");
    }
    try (InferenceMode guard = new InferenceMode(); PointerScope call = new PointerScope()) {
      DecodeState state = new DecodeState(requests, model.config().eosTokenIds(), generators(requests));
      SharedPrompts shared = SharedPrompts.of(requests, sharePrefill && useCache);
      KvCache cache = useCache ? model.newCache(shared.distinct(), state.capacity()) : null;
      try {
        for (int step = 0; state.anyActive(); step++) {
          long start = System.nanoTime();
          int rows = state.activeCount();
          try (PointerScope stepScope = new PointerScope()) {
            Tensor logits = useCache ? cachedStep(state, cache, step, shared) : uncachedStep(state);
            Sampler.Choice choice = Sampler.choose(logits, state.activeParams(), state.activeGenerators());
            int[] keep = state.accept(choice);
            if (cache != null && keep != null && keep.length > 0) {
              cache.keepRows(Tensors.longs(toLongs(keep), keep.length).to(logits.device(), ScalarType.Long));
            }
          }
          if (stats != null) {
            stats.record(step == 0, step == 0 ? (long) shared.distinct() * state.promptWidth() : rows,
                System.nanoTime() - start);
          }
        }
      } finally {
        if (cache != null) {
          cache.close();
        }
      }
      return state.results();
    }
  }

  /**
   * Prefill at step 0 (each distinct prompt once, then spread to its rows), then one token per active row;
   * returns [B, V] last-position logits.
   */
  private Tensor cachedStep(DecodeState state, KvCache cache, int step, SharedPrompts shared) {
    Tensor ids;
    Tensor mask;
    if (step == 0) {
      int width = state.promptWidth();
      ids = Tensors.longs(shared.rows(state.paddedPrompts(), width), shared.distinct(), width);
      mask = Tensors.longs(shared.rows(state.promptMask(), width), shared.distinct(), width);
      if (shared.isShared()) {
        Tensor spread = Tensors.longs(shared.rowOf(), shared.rowOf().length).to(model.device().torchDevice(),
            ScalarType.Long); // [B]: the distinct prompt of each request
        Tensor logits = prefill(ids, mask, cache).index_select(0, spread); // [B, V]
        cache.keepRows(spread);
        return logits;
      }
      return prefill(ids, mask, cache);
    } else {
      ids = Tensors.longs(state.lastTokens(), state.activeCount(), 1);
      mask = torch.ones(state.activeCount(), 1).to(ScalarType.Long);
    }
    return prefill(ids, mask, cache);
  }

  /** Last-position logits [R, V] of rows {@code ids} [R, T] fed through the cache. */
  private Tensor prefill(Tensor ids, Tensor mask, KvCache cache) {
    Tensor hidden = model.hidden(ids.to(model.device().torchDevice(), ScalarType.Long),
        mask.to(model.device().torchDevice(), ScalarType.Long), cache);
    return model.logits(hidden.narrow(1, hidden.size(1) - 1, 1)).squeeze(1);
  }

  private Tensor uncachedStep(DecodeState state) {
    DecodeState.Padded padded = state.paddedSequences();
    int rows = state.activeCount();
    Tensor ids = Tensors.longs(padded.ids(), rows, padded.width()).to(model.device().torchDevice(), ScalarType.Long);
    Tensor mask = Tensors.longs(padded.mask(), rows, padded.width()).to(model.device().torchDevice(), ScalarType.Long);
    Tensor hidden = model.hidden(ids, mask, null);
    return model.logits(hidden.narrow(1, padded.width() - 1, 1)).squeeze(1);
  }

  private static long[] toLongs(int[] a) {
    long[] out = new long[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i];
    }
    return out;
  }

  /** Sampling parameters are per request; rows never share a generator. */
  static Generator[] generators(List<GenerationRequest> requests) {
    List<Generator> out = new ArrayList<>();
    for (GenerationRequest r : requests) {
      out.add(torch.createCPUGenerator(r.params().seed()));
    }
    return out.toArray(new Generator[0]);
  }
}
