package org.rlhfnode.node.supervisor;

import java.util.ArrayList;
import java.util.List;
import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;

/** The rollout rows of generated chunks: prompt i's n samples are rows [i·n, (i + 1)·n). */
final class RolloutAssembly {
  private RolloutAssembly() {}

  /** Prompts as the token-id lists a {@link org.rlhfnode.messages.RolloutRequest} carries. */
  static List<List<Integer>> promptLists(List<long[]> prompts) {
    List<List<Integer>> out = new ArrayList<>(prompts.size());
    for (long[] p : prompts) {
      List<Integer> ids = new ArrayList<>(p.length);
      for (long t : p) {
        ids.add(Math.toIntExact(t));
      }
      out.add(ids);
    }
    return out;
  }

  /** The label of each row: prompt i's label for its n samples, rows [i·n, (i + 1)·n). */
  static List<String> rowLabels(List<String> promptLabels, int n) {
    List<String> out = new ArrayList<>(promptLabels.size() * n);
    for (String label : promptLabels) {
      for (int k = 0; k < n; k++) {
        out.add(label);
      }
    }
    return out;
  }

  /** The rows of a whole iteration from its chunks' answers, in prompt order. */
  static RolloutRows rows(List<long[]> prompts, List<GeneratedSequences> chunks, int n) {
    List<long[]> samplePrompts = new ArrayList<>();
    List<long[]> responses = new ArrayList<>();
    List<float[]> logProbs = new ArrayList<>();
    List<Boolean> truncated = new ArrayList<>();
    int promptIndex = 0;
    for (GeneratedSequences g : chunks) {
      if (g.samplesPerPrompt() != n) {
        throw new IllegalStateException(g.requestId() + ": " + g.samplesPerPrompt() + " samples per prompt, not " + n);
      }
      RolloutRows rows = WireArrays.rows(g.tensors());
      boolean[] cut = rows.truncated();
      for (int s = 0; s < rows.batch(); s++) {
        samplePrompts.add(prompts.get(promptIndex + s / n));
        responses.add(rows.response(s));
        logProbs.add(rows.responseLogProbs(s));
        truncated.add(cut[s]);
      }
      promptIndex += rows.batch() / n;
    }
    if (promptIndex != prompts.size()) {
      throw new IllegalStateException("the rollout answered for " + promptIndex + " of " + prompts.size() + " prompts");
    }
    boolean[] cut = new boolean[truncated.size()];
    for (int i = 0; i < cut.length; i++) {
      cut[i] = truncated.get(i);
    }
    return RolloutRows.of(samplePrompts, responses, logProbs, cut, WireArrays.PAD);
  }
}
