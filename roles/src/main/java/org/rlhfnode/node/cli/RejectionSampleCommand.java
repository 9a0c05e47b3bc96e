package org.rlhfnode.node.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.algo.RejectionSampler;
import org.rlhfnode.runtime.algo.RewardScorer;
import org.rlhfnode.runtime.data.DataOptions;
import org.rlhfnode.runtime.data.MixedDataset;
import org.rlhfnode.runtime.data.PromptExample;
import org.rlhfnode.runtime.data.TokenizerView;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.SamplingParams;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * {@code rejection-sample}: best-of-n (algorithms.md §11). For every prompt of {@code --dataset}
 * ({@code --input_key}, chat template as configured) it draws {@code --n_samples_per_prompt}
 * samples from {@code --pretrain}, scores each with every {@code --reward_pretrain} model (using
 * their stored normalisation), keeps the best and writes {@code {"input","output","reward"}} lines
 * to {@code --output} — ready for {@code train sft --input_key input --output_key output}.
 */
@Command(name = "rejection-sample", mixinStandardHelpOptions = true,
    description = "Best-of-n sampling with reward models; writes an SFT dataset.")
final class RejectionSampleCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Unmatched
  List<String> args = new ArrayList<>();

  @Override
  public Integer call() throws IOException {
    return run(TrainSettings.parse(args, "rejection-sample"));
  }

  /** Samples, scores and writes what {@code s} asks for. */
  int run(TrainSettings s) throws IOException {
    org.rlhfnode.runtime.tensor.CpuThreads.configure(s.integer("model.threads"));
    DeviceSpec device = DeviceSpec.parse(s.string("model.device"));
    Path policyDir = s.model("model.pretrain");
    Path output = s.path("rollout.output");
    List<Path> rewardDirs = s.models("model.reward_pretrain");
    if (rewardDirs.isEmpty()) {
      throw new IllegalArgumentException("--reward_pretrain is required (comma list of reward model dirs)");
    }
    try (HfTokenizer tokenizer = HfTokenizer.load(policyDir);
        CausalLm policy = ModelLoader.load(policyDir, device, ScalarType.Float)) {
      DataOptions options = DataOptions.builder().dataset(String.join(",", s.list("data.dataset")))
          .datasetSplit(s.string("data.dataset_split")).inputKey(s.optString("data.input_key"))
          .applyChatTemplate(s.bool("data.apply_chat_template"))
          .maxSamples(s.integer("data.max_samples")).seed(s.longValue("train.seed")).build();
      List<PromptExample> prompts = MixedDataset.prompts(options, TokenizerView.of(tokenizer)).train();
      List<CausalLm> rms = new ArrayList<>();
      try {
        List<RewardScorer> scorers = new ArrayList<>();
        for (Path dir : rewardDirs) {
          CausalLm rm = ModelLoader.load(dir, device, ScalarType.Float);
          rms.add(rm);
          rm.setPacking(s.bool("train.packing_samples")); // scoring forwards skip the padding
          scorers.add(RewardScorer.forModelDir(rm, dir, s.integer("rollout.micro_rollout_batch_size")));
        }
        SamplingParams params = params(s);
        if (tokenizer.eosTokenId().isPresent()) {
          params = params.withStops(new long[] {tokenizer.eosTokenId().getAsLong()}, false); // end of turn
        }
        write(output, prompts, tokenizer, sampler(s, policy, scorers).run(ids(prompts), s.integer(
            "rollout.n_samples_per_prompt"), params));
      } finally {
        rms.forEach(CausalLm::close);
      }
    }
    return 0;
  }

  private static RejectionSampler sampler(TrainSettings s, CausalLm policy, List<RewardScorer> scorers) {
    RejectionSampler.Combine combine = RejectionSampler.Combine.valueOf(
        s.string("rollout.reward_combine").toUpperCase(java.util.Locale.ROOT));
    List<String> w = s.list("rollout.reward_weights");
    double[] weights = w.isEmpty() ? null : w.stream().mapToDouble(Double::parseDouble).toArray();
    return new RejectionSampler(new GenerationEngine(policy), scorers, combine, weights,
        s.integer("rollout.micro_rollout_batch_size"));
  }

  private static SamplingParams params(TrainSettings s) {
    return new SamplingParams(s.integer("rollout.generate_max_len"), false, s.number("rollout.temperature"),
        s.integer("rollout.top_k"), s.number("rollout.top_p"), s.longValue("train.seed"), null, false);
  }

  private static List<long[]> ids(List<PromptExample> prompts) {
    List<long[]> out = new ArrayList<>();
    prompts.forEach(p -> out.add(p.ids()));
    return out;
  }

  private static void write(Path output, List<PromptExample> prompts, HfTokenizer tokenizer,
      List<RejectionSampler.Best> best) throws IOException {
    Path parent = output.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = Files.createTempFile(parent, ".rejection", ".jsonl");
    double mean = 0;
    try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
      for (RejectionSampler.Best b : best) {
        ObjectNode line = JSON.createObjectNode();
        line.put("input", prompts.get(b.promptIndex()).text());
        line.put("output", tokenizer.decode(b.responseIds(), true));
        line.put("reward", b.reward());
        w.write(JSON.writeValueAsString(line));
        w.newLine();
        mean += b.reward() / best.size();
      }
    }
    Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    double sampleMean = best.stream().mapToDouble(RejectionSampler.Best::meanReward).average().orElse(Double.NaN);
    System.out.printf("{\"prompts\":%d,\"best_reward_mean\":%.6f,\"sample_reward_mean\":%.6f,\"output\":\"%s\"}%n",
        best.size(), mean, sampleMean, output.toAbsolutePath());
  }
}
