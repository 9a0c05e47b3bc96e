package org.rlhfnode.node.role;

import java.util.ArrayList;
import java.util.List;
import org.rlhfnode.messages.GeneratedSequences;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;
import org.rlhfnode.runtime.generate.FinishReason;

/** A rollout answer read back sample by sample, for assertions. */
public final class RolloutReplies {
  private RolloutReplies() {}

  /** One sample: its new tokens, their sampler log-probs, and why it ended. */
  public record Sample(List<Long> newTokens, List<Float> logProbs, FinishReason finishReason) {}

  /** The samples of {@code g}, in row order. */
  public static List<Sample> samples(GeneratedSequences g) {
    RolloutRows rows = WireArrays.rows(g.tensors());
    boolean[] truncated = rows.truncated();
    List<Sample> out = new ArrayList<>();
    for (int i = 0; i < rows.batch(); i++) {
      List<Long> tokens = new ArrayList<>();
      for (long t : rows.response(i)) {
        tokens.add(t);
      }
      List<Float> lp = new ArrayList<>();
      for (float x : rows.responseLogProbs(i)) {
        lp.add(x);
      }
      out.add(new Sample(tokens, lp, truncated[i] ? FinishReason.LENGTH : FinishReason.STOP));
    }
    return out;
  }
}
