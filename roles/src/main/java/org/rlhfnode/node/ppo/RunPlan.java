package org.rlhfnode.node.ppo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
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
 * of the evaluations. Every prompt keeps its label ({@code label_key}), so a resumed run, which derives
 * its prompts from the data again, sends the same labels. With dynamic filtering an iteration's
 * filtered groups are replaced by prompts from {@link #replacementsFor}: the prompts not in that
 * iteration, in a seeded order of their own, so the data cursor and the iteration count stay as
 * without filtering.
 *
 * @param prompts token ids of the training prompts
 * @param labels each training prompt's label, "" when its record has none
 * @param evalPrompts token ids of the held-out prompts (empty without {@code eval_prompt_data} or {@code eval_split})
 * @param evalLabels each held-out prompt's label
 */
public record RunPlan(List<long[]> prompts, List<String> labels, List<long[]> evalPrompts, List<String> evalLabels,
    int promptsPerIteration, int iterations, long seed) {
  /** Salt of the replacement order, so that it is not the order of any episode. */
  private static final long REPLACEMENT_SALT = 0x5EEDFA11L;

  /**
   * Prompts with their labels, in order.
   *
   * @param ids token ids of each prompt
   * @param labels each prompt's label
   */
  public record PromptSet(List<long[]> ids, List<String> labels) {
    public PromptSet {
      ids = List.copyOf(ids);
      labels = List.copyOf(labels);
      if (ids.size() != labels.size()) {
        throw new IllegalArgumentException(ids.size() + " prompts, " + labels.size() + " labels");
      }
    }

    public int size() {
      return ids.size();
    }
  }

  public RunPlan {
    if (prompts.size() != labels.size() || evalPrompts.size() != evalLabels.size()) {
      throw new IllegalArgumentException("one label per prompt: " + prompts.size() + " prompts, " + labels.size()
          + " labels; " + evalPrompts.size() + " eval prompts, " + evalLabels.size() + " labels");
    }
  }

  /** Reads and tokenizes the prompt sets. */
  public static RunPlan load(PpoSettings s) {
    try (HfTokenizer tokenizer = HfTokenizer.load(s.models().pretrain())) {
      TokenizerView view = TokenizerView.of(tokenizer);
      MixedDataset<PromptExample> train = MixedDataset.prompts(s.prompts().train(), view);
      List<long[]> prompts = ids(train.train(), s.prompts().maxLen());
      List<PromptExample> held = s.prompts().eval() == null ? train.eval()
          : MixedDataset.prompts(s.prompts().eval(), view).train();
      held = held.subList(0, Math.min(held.size(), s.prompts().evalMaxSamples()));
      List<long[]> eval = ids(held, s.prompts().maxLen());
      int perEpisode = prompts.size() / s.prompts().perIteration();
      if (perEpisode == 0) {
        throw new IllegalArgumentException("--prompt_data has " + prompts.size()
            + " prompts, fewer than --rollout_batch_size " + s.prompts().perIteration());
      }
      long total = (long) perEpisode * s.prompts().numEpisodes();
      int iterations = (int) (s.prompts().maxIterations() > 0 ? Math.min(total, s.prompts().maxIterations()) : total);
      return new RunPlan(prompts, labels(train.train()), eval, labels(held), s.prompts().perIteration(), iterations,
          s.run().seed());
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

  private static List<String> labels(List<PromptExample> examples) {
    return examples.stream().map(PromptExample::label).toList();
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
    return batchFor(it).ids();
  }

  /** The prompts of iteration {@code it} (0-based) with their labels. */
  public PromptSet batchFor(int it) {
    return select(indicesFor(it));
  }

  /** The held-out prompts with their labels. */
  public PromptSet evalSet() {
    return new PromptSet(evalPrompts, evalLabels);
  }

  /** How many replacement prompts an iteration has: every prompt not in its batch. */
  public int replacementCount() {
    return prompts.size() - promptsPerIteration;
  }

  /**
   * Replacement prompts [from, from + count) of iteration {@code it} for dynamic filtering (fewer at the
   * end): the prompts not in the iteration's batch, in a seeded order that depends on the iteration alone.
   */
  public PromptSet replacementsFor(int it, int from, int count) {
    BitSet taken = new BitSet(prompts.size());
    for (int i : indicesFor(it)) {
      taken.set(i);
    }
    int[] order = BatchIterator.permutation(prompts.size(), seed ^ REPLACEMENT_SALT, it);
    return select(Arrays.stream(order).filter(i -> !taken.get(i)).skip(from).limit(count).toArray());
  }

  private int[] indicesFor(int it) {
    int perEpisode = prompts.size() / promptsPerIteration;
    int episode = it / perEpisode;
    int[] order = BatchIterator.permutation(prompts.size(), seed, episode);
    int start = (it % perEpisode) * promptsPerIteration;
    return Arrays.copyOfRange(order, start, start + promptsPerIteration);
  }

  private PromptSet select(int[] indices) {
    List<long[]> ids = new ArrayList<>(indices.length);
    List<String> l = new ArrayList<>(indices.length);
    for (int i : indices) {
      ids.add(prompts.get(i).clone());
      l.add(labels.get(i));
    }
    return new PromptSet(ids, l);
  }
}
