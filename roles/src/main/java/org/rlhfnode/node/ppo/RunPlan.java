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
 * the prompt set ({@link PromptSources}: mixed by {@code prompt_data_probs}, seeded, the same on every
 * run with the same settings, so a resumed run continues the same order) reshuffled (seeded) each of
 * {@code num_episodes} passes, an incomplete last batch dropped; prompts longer than
 * {@code prompt_max_len} tokens keep their last tokens (the generation cue). Plus the held-out prompts
 * of the evaluations.
 *
 * @param prompts token ids of the training prompts
 * @param evalPrompts token ids of the held-out prompts (empty without {@code eval_prompt_data} or {@code eval_split})
 */
public record RunPlan(List<long[]> prompts, List<long[]> evalPrompts, int promptsPerIteration, int iterations,
    long seed) {

  /** Reads and tokenizes the prompt sets. */
  public static RunPlan load(PpoSettings s) {
    try (HfTokenizer tokenizer = HfTokenizer.load(s.models().pretrain())) {
      TokenizerView view = TokenizerView.of(tokenizer);
      MixedDataset<PromptExample> train = MixedDataset.prompts(s.prompts().train(), view);
      List<long[]> prompts = ids(train.train(), s.prompts().maxLen());
      List<PromptExample> held = s.prompts().eval() == null ? train.eval()
          : MixedDataset.prompts(s.prompts().eval(), view).train();
      List<long[]> eval = ids(held.subList(0, Math.min(held.size(), s.prompts().evalMaxSamples())),
          s.prompts().maxLen());
      int perEpisode = prompts.size() / s.prompts().perIteration();
      if (perEpisode == 0) {
        throw new IllegalArgumentException("--prompt_data has " + prompts.size()
            + " prompts, fewer than --rollout_batch_size " + s.prompts().perIteration());
      }
      long total = (long) perEpisode * s.prompts().numEpisodes();
      int iterations = (int) (s.prompts().maxIterations() > 0 ? Math.min(total, s.prompts().maxIterations()) : total);
      return new RunPlan(prompts, eval, s.prompts().perIteration(), iterations, s.run().seed());
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

  /** Data cursor: the pass over the prompts that iteration {@code it} (0-based) is in. */
  public int episodeOf(int it) {
    return it / (prompts.size() / promptsPerIteration);
  }

  /** Data cursor: iteration {@code it}'s first prompt within its pass's permutation. */
  public int positionOf(int it) {
    return (it % (prompts.size() / promptsPerIteration)) * promptsPerIteration;
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
