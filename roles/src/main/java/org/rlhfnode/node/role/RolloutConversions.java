package org.rlhfnode.node.role;

import java.util.ArrayList;
import java.util.List;
import org.rlhfnode.messages.SamplingParams;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;

/** Between {@link RolloutWorker}'s wire records and the generation engine's requests and results. */
final class RolloutConversions {
  private RolloutConversions() {}

  /** One engine request per sample: prompt i repeated {@code samplesPerPrompt} times, each with its own seed. */
  static List<GenerationRequest> toRequests(RolloutWorker.Generate g) {
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

  static RolloutWorker.Sequence toSequence(GenerationResult r) {
    List<Long> tokens = new ArrayList<>();
    for (long t : r.newTokens()) {
      tokens.add(t);
    }
    List<Float> logProbs = new ArrayList<>();
    for (float lp : r.logProbs()) {
      logProbs.add(lp);
    }
    return new RolloutWorker.Sequence(tokens, logProbs, r.finishReason());
  }
}
