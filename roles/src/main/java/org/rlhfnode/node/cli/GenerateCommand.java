package org.rlhfnode.node.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;
import org.rlhfnode.runtime.generate.SamplingParams;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code generate}: continues a prompt (token ids, or text with the model dir's tokenizer) and
 * prints one JSON line per sample with {@code new_tokens}, {@code logprobs}, {@code finish_reason}
 * and, with a tokenizer, {@code text}. A stable contract other tools depend on. With {@code --tp N}
 * the model runs tensor-parallel on N rank threads, each holding its slices; every rank decodes the
 * same tokens and rank 0 prints the same lines.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generate a continuation.")
final class GenerateCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Mixin ModelOptions modelOptions;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Input input;

  static final class Input {
    @Option(names = "--input-ids", paramLabel = "IDS", description = "Comma-separated prompt token ids.")
    String inputIds;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "Prompt text (needs tokenizer.json in the model dir).")
    String prompt;
  }

  @Option(names = "--chat", description = "Wrap --prompt as a user turn with the tokenizer's chat template.")
  boolean chat;

  @Option(names = "--max-new-tokens", defaultValue = "32", description = "Default: ${DEFAULT-VALUE}.")
  int maxNewTokens;

  @Option(names = "--greedy", description = "Arg-max decoding (otherwise sample).")
  boolean greedy;

  @Option(names = "--temperature", defaultValue = "1.0", description = "Default: ${DEFAULT-VALUE}.")
  double temperature;

  @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus mass, 1 = off (default: ${DEFAULT-VALUE}).")
  double topP;

  @Option(names = "--top-k", defaultValue = "0", description = "Keep the k best tokens, 0 = off (default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--num-samples", defaultValue = "1", description = "Samples per prompt, seeds seed..seed+n-1.")
  int numSamples;

  @Option(names = "--ignore-eos", description = "Do not stop at the EOS token.")
  boolean ignoreEos;

  @Option(names = "--tp", defaultValue = "1",
      description = "Tensor-parallel ranks, each loading 1/N of the weights (default: ${DEFAULT-VALUE}).")
  int tp;

  @Override
  public Integer call() throws Exception {
    if (numSamples < 1) {
      throw new IllegalArgumentException("--num-samples must be >= 1, got " + numSamples);
    }
    if (tp < 1) {
      throw new IllegalArgumentException("--tp must be >= 1, got " + tp);
    }
    SamplingParams params = new SamplingParams(maxNewTokens, greedy, temperature, topK, topP, seed, null, ignoreEos);
    HfTokenizer tokenizer = null;
    try {
      if (tp == 1) {
        try (CausalLm model = modelOptions.load()) {
          tokenizer = tokenizerIfWanted();
          long[] ids = promptIds(tokenizer);
          model.checkTokenIds(ids, "prompt");
          print(new GenerationEngine(model).generate(requests(ids, tokenizer, params)), tokenizer);
        }
      } else {
        tokenizer = tokenizerIfWanted();
        long[] ids = promptIds(tokenizer);
        List<GenerationRequest> requests = requests(ids, tokenizer, params);
        List<List<GenerationResult>> perRank = modelOptions.onRanks(tp, "generate", (model, group) -> {
          model.checkTokenIds(ids, "prompt");
          return new GenerationEngine(model).generate(requests); // the same tokens on every rank
        });
        print(perRank.get(0), tokenizer);
      }
    } finally {
      if (tokenizer != null) {
        tokenizer.close();
      }
    }
    return 0;
  }

  private HfTokenizer tokenizerIfWanted() {
    if (input.prompt != null || chat || Files.exists(modelOptions.model.resolve("tokenizer.json"))) {
      return loadTokenizer();
    }
    return null;
  }

  private long[] promptIds(HfTokenizer tokenizer) {
    return input.inputIds != null ? TokenIds.parse(input.inputIds) : encode(tokenizer);
  }

  /** {@code --num-samples} requests for the prompt, seeds seed..seed+n-1, stopping at the tokenizer's EOS too. */
  private List<GenerationRequest> requests(long[] ids, HfTokenizer tokenizer, SamplingParams base) {
    SamplingParams params = base;
    if (tokenizer != null && tokenizer.eosTokenId().isPresent()) {
      params = params.withStops(new long[] {tokenizer.eosTokenId().getAsLong()}, ignoreEos); // end of turn
    }
    List<GenerationRequest> requests = new ArrayList<>();
    for (int i = 0; i < numSamples; i++) {
      requests.add(new GenerationRequest(ids, params.withSeed(seed + i)));
    }
    return requests;
  }

  private static void print(List<GenerationResult> results, HfTokenizer tokenizer) throws Exception {
    for (GenerationResult r : results) {
      System.out.println(JSON.writeValueAsString(toJson(r, tokenizer)));
    }
  }

  private HfTokenizer loadTokenizer() {
    if (!Files.exists(modelOptions.model.resolve("tokenizer.json"))) {
      throw new IllegalArgumentException(modelOptions.model + ": --prompt/--chat need tokenizer.json in the model dir");
    }
    return HfTokenizer.load(modelOptions.model);
  }

  private long[] encode(HfTokenizer tokenizer) {
    if (input.prompt == null) {
      throw new IllegalArgumentException("--chat needs --prompt");
    }
    if (!chat) {
      return tokenizer.encode(input.prompt, true);
    }
    String text = tokenizer.applyChatTemplate(List.of(Map.of("role", "user", "content", input.prompt)), true, Map.of());
    return tokenizer.encode(text, false);
  }

  private static ObjectNode toJson(GenerationResult r, HfTokenizer tokenizer) {
    ObjectNode line = JSON.createObjectNode();
    ArrayNode tokens = line.putArray("new_tokens");
    for (long t : r.newTokens()) {
      tokens.add(t);
    }
    ArrayNode lps = line.putArray("logprobs");
    for (float lp : r.logProbs()) {
      lps.add(lp);
    }
    line.put("finish_reason", r.finishReason().jsonName());
    if (tokenizer != null) {
      line.put("text", tokenizer.decode(r.newTokens(), true));
    }
    return line;
  }
}
