package org.rlhfnode.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalDouble;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * The scalar {@code score} head of reward and critic models (algorithms.md §4): a bias-free d → 1
 * linear layer, initialised from N(0, sd = 1/(d+1)) when a base model has none, and the
 * {@code mean}/{@code std} normalisation statistics a trained reward model keeps in config.json.
 */
public final class RewardHead {
  /** config.json keys of the normalisation statistics. */
  public static final String MEAN = "mean";
  public static final String STD = "std";

  private RewardHead() {}

  /**
   * {@code model} itself if it has a score head; otherwise a model over the same weights plus a new
   * head (the given model is closed, its weights live on in the returned one).
   */
  public static CausalLm ensure(CausalLm model, long seed) {
    if (model.hasScoreHead()) {
      return model;
    }
    try (PointerScope scope = new PointerScope()) {
      int d = model.config().hiddenSize();
      Generator gen = torch.createCPUGenerator(seed);
      Tensor head = torch.empty(new long[] {1, d}, Tensors.options(ScalarType.Float, DeviceSpec.CPU),
          new org.bytedeco.pytorch.MemoryFormatOptional()).normal_(0.0, 1.0 / (d + 1), new GeneratorOptional(gen));
      Map<String, Tensor> params = new LinkedHashMap<>(model.parameters());
      params.put(ParameterLayout.SCORE, head.to(model.device().torchDevice(), model.dtype()));
      CausalLm withHead = CausalLm.create(model.config(), params, model.device());
      model.close();
      return withHead;
    }
  }

  /** The stored mean and std of a reward model directory's config.json, when present. */
  public static OptionalDouble[] statistics(Path modelDir) {
    try {
      JsonNode root = new ObjectMapper().readTree(modelDir.resolve("config.json").toFile());
      return new OptionalDouble[] {number(root, MEAN), number(root, STD)};
    } catch (IOException e) {
      throw new IllegalArgumentException(modelDir.resolve("config.json") + ": cannot read: " + e.getMessage());
    }
  }

  private static OptionalDouble number(JsonNode root, String key) {
    JsonNode v = root.get(key);
    return v != null && v.isNumber() ? OptionalDouble.of(v.doubleValue()) : OptionalDouble.empty();
  }
}
