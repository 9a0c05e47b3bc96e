package org.rlhfnode.node.role;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.model.TensorParallel;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.transport.RankGang;
import org.rlhfnode.runtime.transport.WeightPayload;

/**
 * One weight version as a rollout worker serves it: a whole model, or its slices on the ranks of a
 * tensor-parallel group ({@code --vllm_tensor_parallel_size}), which generate together (every rank
 * ends each forward with the full logits, so every rank draws the same tokens; rank 0's results are
 * returned). A version is built from a model directory (each rank reads only its slice) or from a
 * received payload (each rank copies only its slice out of the shared buffer).
 */
final class ServedPolicy implements AutoCloseable {
  private final CausalLm whole; // tp 1
  private final RankGang gang; // tp > 1: the worker's group (not owned)
  private final List<CausalLm> slices; // tp > 1: rank r's slice at index r

  private ServedPolicy(CausalLm whole, RankGang gang, List<CausalLm> slices) {
    this.whole = whole;
    this.gang = gang;
    this.slices = slices;
  }

  /** Loads {@code dir} whole ({@code gang} null) or sliced over {@code gang}'s ranks. */
  static ServedPolicy load(RankGang gang, Path dir, DeviceSpec device, ScalarType dtype) {
    if (gang == null) {
      return new ServedPolicy(ModelLoader.load(dir, device, dtype), null, null);
    }
    return new ServedPolicy(null, gang,
        gang.openEach(c -> ModelLoader.load(dir, device, dtype, TensorParallel.over(c))));
  }

  /** A whole model built by the caller ({@link PolicyVersions}' LoRA versions); closing this closes it. */
  static ServedPolicy whole(CausalLm model) {
    return new ServedPolicy(model, null, null);
  }

  /** Builds the payload's model whole ({@code gang} null) or sliced over {@code gang}'s ranks. */
  static ServedPolicy fromPayload(RankGang gang, WeightPayload payload, ModelConfig config, DeviceSpec device,
      ScalarType dtype) {
    if (gang == null) {
      return new ServedPolicy(payload.toModel(config, device, dtype), null, null);
    }
    return new ServedPolicy(null, gang,
        gang.openEach(c -> payload.toModel(config, device, dtype, TensorParallel.over(c))));
  }

  /** Generates for {@code requests}; with tensor parallelism on every rank, rank 0's results returned. */
  List<GenerationResult> generate(List<GenerationRequest> requests) {
    if (gang == null) {
      return new GenerationEngine(whole).generate(requests);
    }
    return gang.first(c -> new GenerationEngine(slices.get(c.rank())).generate(requests));
  }

  /** The (whole) model's config. */
  ModelConfig config() {
    return gang == null ? whole.config() : slices.get(0).config();
  }

  boolean hasLmHead() {
    return gang == null ? whole.hasLmHead() : slices.get(0).hasLmHead();
  }

  @Override
  public void close() {
    if (gang == null) {
      whole.close();
    } else {
      gang.closeEach(slices);
    }
  }
}
