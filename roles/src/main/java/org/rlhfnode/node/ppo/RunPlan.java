package org.rlhfnode.node.ppo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.rlhfnode.runtime.data.BatchIterator;
import org.rlhfnode.runtime.data.MixedDataset;
import org.rlhfnode.runtime.data.PromptExample;
import org.rlhfnode.runtime.data.TokenizerView;
import org.rlhfnode.runtime.tokenizer.HfTokenizer;

/**
 * Which prompts each iteration of a PPO run uses: {@code rollout_batch_size} prompts per iteration,
 * the prompt set reshuffled (seeded) each of {@code num_episodes} passes, an incomplete last batch
 * dropped; prompts longer than {@code prompt_max_len} tokens keep their last tokens (the generation cue).
 * Plus the held-out prompts of the evaluations.
 *
 * @param prompts token ids of the training prompts
 * @param evalPrompts token ids of the held-out prompts (empty without {@code eval_prompt_data})
 */
public record RunPlan(List<long[]> prompts, List<long[]> evalPrompts, int promptsPerIteration, int iterations,
    long seed) {

  /** Reads and tokenizes the prompt sets. */
  public static RunPlan load(PpoSettings s) {
    try (HfTokenizer tokenizer = HfTokenizer.load(s.pretrain())) {
      TokenizerView view = TokenizerView.of(tokenizer);
      List<long[]> prompts = ids(MixedDataset.prompts(s.prompts(), view).train(), s.promptMaxLen());
      List<long[]> eval = s.evalPrompts() == null ? List.of()
          : ids(MixedDataset.prompts(s.evalPrompts(), view).train(), s.promptMaxLen());
      int perEpisode = prompts.size() / s.promptsPerIteration();
      if (perEpisode == 0) {
        throw new IllegalArgumentException("--prompt_data has " + prompts.size()
            + " prompts, fewer than --rollout_batch_size " + s.promptsPerIteration());
      }
      long total = (long) perEpisode * s.numEpisodes();
      int iterations = (int) (s.maxIterations() > 0 ? Math.min(total, s.maxIterations()) : total);
      return new RunPlan(prompts, eval, s.promptsPerIteration(), iterations, s.seed());
    }
  }

  private static List<long[]> ids(List<PromptExample> examples, int maxLen) {
    List<long[]> out = new ArrayList<>(examples.size());
    for (PromptExample e : examples) {
      long[] ids = e.ids();
      out.add(ids.length > maxLen ? Arrays.copyOfRange(ids, ids.length - maxLen, ids.length) : ids);
    }
    return out;
  }

  /** The prompts of iteration {@code it} (0-based). */
  public List<long[]> promptsFor(int it) {
    int perEpisode = prompts.size() / promptsPerIteration;
    int episode = it / perEpisode;
    int[] order = BatchIterator.permutation(prompts.size(), seed, episode);
    int start = (it % perEpisode) * promptsPerIteration;
    List<long[]> out = new ArrayList<>(promptsPerIteration);
    for (int i = start; i < start + promptsPerIteration; i++) {
      out.add(prompts.get(order[i]).clone());
    }
    return out;
  }
}
