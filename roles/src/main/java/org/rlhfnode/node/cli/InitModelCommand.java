package org.rlhfnode.node.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.io.DType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ModelFamily;
import org.rlhfnode.runtime.model.ModelInit;
import org.rlhfnode.runtime.model.ModelSaver;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code init-model}: writes a randomly initialised HuggingFace checkpoint of a chosen family and
 * size, for benchmarks, tests and the bundled examples.
 */
@Command(name = "init-model", mixinStandardHelpOptions = true,
    description = "Write a random-initialised HuggingFace checkpoint.")
final class InitModelCommand implements Callable<Integer> {
  @Option(names = "--output", required = true, paramLabel = "DIR") Path output;
  @Option(names = "--family", defaultValue = "llama", description = "llama, qwen2, mistral or mixtral (default: ${DEFAULT-VALUE}).") String family;
  @Option(names = "--vocab-size", defaultValue = "32000") int vocabSize;
  @Option(names = "--hidden-size", defaultValue = "768") int hiddenSize;
  @Option(names = "--intermediate-size", defaultValue = "2048") int intermediateSize;
  @Option(names = "--layers", defaultValue = "12") int layers;
  @Option(names = "--heads", defaultValue = "12") int heads;
  @Option(names = "--kv-heads", defaultValue = "0", description = "0 = same as --heads.") int kvHeads;
  @Option(names = "--max-position-embeddings", defaultValue = "2048") int maxPositions;
  @Option(names = "--rope-theta", defaultValue = "10000") double ropeTheta;
  @Option(names = "--rms-norm-eps", defaultValue = "1e-5") double rmsNormEps;
  @Option(names = "--tie-word-embeddings") boolean tie;
  @Option(names = "--sliding-window", defaultValue = "0", description = "mistral/mixtral only; 0 = none.") int slidingWindow;
  @Option(names = "--experts", defaultValue = "8", description = "mixtral only.") int experts;
  @Option(names = "--experts-per-token", defaultValue = "2", description = "mixtral only.") int expertsPerToken;
  @Option(names = "--bos-id", defaultValue = "1") long bosId;
  @Option(names = "--eos-id", defaultValue = "2", split = ",", description = "EOS id(s), comma-separated.") long[] eosIds;
  @Option(names = "--score-head", description = "Add a score head (reward/critic model).") boolean scoreHead;
  @Option(names = "--init-std", defaultValue = "0.02") double initStd;
  @Option(names = "--seed", defaultValue = "0") long seed;
  @Option(names = "--save-dtype", defaultValue = "float32", description = "float32 or bfloat16.") String saveDtype;
  @Option(names = "--tokenizer", paramLabel = "DIR", converter = ModelDirectory.class,
      description = "Copy tokenizer files from this model directory (or org/name from the HF hub cache).")
  Path tokenizerDir;

  @Override
  public Integer call() throws Exception {
    ModelFamily f = ModelFamily.fromModelType(family);
    boolean moe = f == ModelFamily.MIXTRAL;
    boolean windowed = f == ModelFamily.MISTRAL || f == ModelFamily.MIXTRAL;
    DType dtype = ModelOptions.parseDtype(saveDtype) == ScalarType.BFloat16 ? DType.BF16 : DType.F32;
    int headDim = heads > 0 ? hiddenSize / heads : 0;
    if (heads > 0 && hiddenSize % heads != 0) {
      throw new IllegalArgumentException("--hidden-size (" + hiddenSize + ") must be divisible by --heads (" + heads + ")");
    }
    ModelConfig config = new ModelConfig(f, vocabSize, hiddenSize, intermediateSize, layers, heads,
        kvHeads == 0 ? heads : kvHeads, headDim, rmsNormEps, ropeTheta, null, maxPositions, tie,
        f == ModelFamily.QWEN2, false, windowed ? slidingWindow : 0, moe ? experts : 0,
        moe ? expertsPerToken : 0, bosId, java.util.Arrays.stream(eosIds).boxed().toList(), null, ModelSaver.torchDtypeName(dtype));
    org.rlhfnode.runtime.tensor.CpuThreads.configure(0);
    try (CausalLm model = ModelInit.random(config, seed, initStd, ScalarType.Float, DeviceSpec.CPU, scoreHead)) {
      ModelSaver.save(model, output, dtype, ModelSaver.DEFAULT_SHARD_BYTES);
    }
    copyTokenizer();
    System.out.println("{\"output\":\"" + output.toAbsolutePath() + "\",\"parameters\":"
        + (config.parameterCount() + (scoreHead ? hiddenSize : 0)) + "}");
    return 0;
  }

  private void copyTokenizer() {
    if (tokenizerDir == null) {
      return;
    }
    if (!Files.exists(tokenizerDir.resolve("tokenizer.json"))) {
      throw new IllegalArgumentException(tokenizerDir + ": no tokenizer.json");
    }
    org.rlhfnode.runtime.tokenizer.HfTokenizer.copyFiles(tokenizerDir, output);
  }
}
