package org.rlhfnode.node.role;

import java.util.ArrayList;
import java.util.List;
import org.rlhfnode.messages.RolloutRequest;
import org.rlhfnode.messages.SamplingParams;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.generate.FinishReason;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;

/** Between {@link RolloutWorker}'s wire records and the generation engine's requests and results. */
final class RolloutConversions {
  private RolloutConversions() {}

  /** One engine request per sample: prompt i repeated {@code samplesPerPrompt} times, each with its own seed. */
  static List<GenerationRequest> toRequests(RolloutRequest g) {
    SamplingParams s = g.sampling();
    List<GenerationRequest> out = new ArrayList<>(g.prompts().size() * s.samplesPerPrompt());
    for (List<Integer> prompt : g.prompts()) {
      long[] ids = prompt.stream().mapToLong(Integer::longValue).toArray();
      for (int k = 0; k < s.samplesPerPrompt(); k++) {
        out.add(new GenerationRequest(ids, toEngineParams(s, s.seed() + out.size())));
      }
    }
    return out;
  }

  /** Temperature 0 means greedy on the wire; the engine has an explicit greedy flag. */
  static org.rlhfnode.runtime.generate.SamplingParams toEngineParams(SamplingParams s, long seed) {
    if (s.temperature() == 0) {
      return org.rlhfnode.runtime.generate.SamplingParams.greedy(s.maxNewTokens());
    }
    return org.rlhfnode.runtime.generate.SamplingParams.sample(s.maxNewTokens(), s.temperature(), s.topK(),
        s.topP(), seed);
  }

  /**
   * The rows of the answer (prompt i's samples at rows [i·n, (i + 1)·n)): prompt + response ids, masks,
   * the sampler's log-probs and the truncation flags, as {@link WireArrays#rows} lays them out.
   */
  static TensorMap toTensors(RolloutRequest g, List<GenerationResult> results) {
    int n = g.sampling().samplesPerPrompt();
    List<long[]> promptIds = new ArrayList<>(g.prompts().size());
    for (List<Integer> p : g.prompts()) {
      promptIds.add(p.stream().mapToLong(Integer::longValue).toArray());
    }
    List<long[]> prompts = new ArrayList<>(results.size());
    List<long[]> responses = new ArrayList<>(results.size());
    List<float[]> logProbs = new ArrayList<>(results.size());
    boolean[] truncated = new boolean[results.size()];
    for (int i = 0; i < results.size(); i++) {
      GenerationResult r = results.get(i);
      prompts.add(promptIds.get(i / n));
      responses.add(r.newTokens());
      logProbs.add(r.logProbs());
      truncated[i] = r.finishReason() == FinishReason.LENGTH;
    }
    return WireArrays.rows(RolloutRows.of(prompts, responses, logProbs, truncated, WireArrays.PAD));
  }
}
