package org.rlhfnode.runtime.checkpoint;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.pytorch.Tensor;

/**
 * A checkpoint read back by {@link CheckpointManager#load}: its verified manifest, the model weights
 * and optimizer state as CPU tensors in their stored dtypes (sorted by name, owned by the caller's
 * {@code PointerScope}), and the {@link TrainingState}.
 *
 * @param dir the checkpoint directory
 * @param manifest its manifest, every checksum verified
 * @param modelWeights weights by HF name; unmodifiable
 * @param optimizerState optimizer entries as {@code Optimizer#exportState()} named them; unmodifiable
 * @param state step, epoch, data cursor, RNG and scheduler state
 */
public record LoadedCheckpoint(Path dir, CheckpointManifest manifest, Map<String, Tensor> modelWeights,
    Map<String, Tensor> optimizerState, TrainingState state) {
  public LoadedCheckpoint {
    Objects.requireNonNull(dir, "dir");
    Objects.requireNonNull(manifest, "manifest");
    Objects.requireNonNull(state, "state");
    modelWeights = Collections.unmodifiableMap(new LinkedHashMap<>(modelWeights));
    optimizerState = Collections.unmodifiableMap(new LinkedHashMap<>(optimizerState));
  }
}
