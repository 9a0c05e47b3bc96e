package org.rlhfnode.runtime.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Generator;

/**
 * Java-side bookkeeping of one {@link GenerationEngine} call: the tokens each request has produced,
 * which requests are still active (in KV-cache row order), and why each one finished. Holds plain
 * arrays sized once per call, so a decode step allocates no per-token objects.
 */
final class DecodeState {
  /** A left-padded batch: row-major ids and mask of {@code rows × width}. */
  record Padded(long[] ids, long[] mask, int width) {}

  private final List<GenerationRequest> requests;
  private final long[][] prompts;
  private final long[][] stops; // per request: its stop ids plus EOS unless ignored
  private final Generator[] generators;
  private final long[][] tokens;
  private final float[][] logProbs;
  private final int[] counts;
  private final FinishReason[] reasons;
  private int[] active; // request index of each cache row

  DecodeState(List<GenerationRequest> requests, List<Long> eosIds, Generator[] generators) {
    this.requests = requests;
    this.generators = generators;
    int n = requests.size();
    prompts = new long[n][];
    stops = new long[n][];
    tokens = new long[n][];
    logProbs = new float[n][];
    counts = new int[n];
    reasons = new FinishReason[n];
    active = new int[n];
    for (int i = 0; i < n; i++) {
      SamplingParams p = requests.get(i).params();
      prompts[i] = requests.get(i).promptIds();
      stops[i] = stopSet(p, eosIds);
      int max = p.maxNewTokens();
      tokens[i] = new long[max];
      logProbs[i] = new float[max];
      active[i] = i;
    }
  }

  private static long[] stopSet(SamplingParams p, List<Long> eosIds) {
    long[] own = p.stopIds();
    if (p.ignoreEos()) {
      return own;
    }
    long[] all = Arrays.copyOf(own, own.length + eosIds.size());
    for (int i = 0; i < eosIds.size(); i++) {
      all[own.length + i] = eosIds.get(i);
    }
    return all;
  }

  int capacity() {
    int maxNew = 0;
    for (GenerationRequest r : requests) {
      maxNew = Math.max(maxNew, r.params().maxNewTokens());
    }
    return promptWidth() + maxNew;
  }

  int promptWidth() {
    int w = 0;
    for (long[] prompt : prompts) {
      w = Math.max(w, prompt.length);
    }
    return w;
  }

  boolean anyActive() {
    return active.length > 0;
  }

  int activeCount() {
    return active.length;
  }

  long[] paddedPrompts() {
    return pad(true).ids();
  }

  long[] promptMask() {
    return pad(true).mask();
  }

  /** Prompt plus generated tokens of each active row, left-padded (for the no-cache path). */
  Padded paddedSequences() {
    return pad(false);
  }

  private Padded pad(boolean promptOnly) {
    int width = 0;
    for (int r : active) {
      width = Math.max(width, prompts[r].length + (promptOnly ? 0 : counts[r]));
    }
    long[] ids = new long[active.length * width];
    long[] mask = new long[active.length * width];
    for (int row = 0; row < active.length; row++) {
      int r = active[row];
      long[] prompt = prompts[r];
      int gen = promptOnly ? 0 : counts[r];
      int start = row * width + width - prompt.length - gen;
      System.arraycopy(prompt, 0, ids, start, prompt.length);
      System.arraycopy(tokens[r], 0, ids, start + prompt.length, gen);
      Arrays.fill(mask, start, row * width + width, 1L);
    }
    return new Padded(ids, mask, width);
  }

  long[] lastTokens() {
    long[] out = new long[active.length];
    for (int row = 0; row < active.length; row++) {
      out[row] = tokens[active[row]][counts[active[row]] - 1];
    }
    return out;
  }

  SamplingParams[] activeParams() {
    SamplingParams[] out = new SamplingParams[active.length];
    for (int row = 0; row < active.length; row++) {
      out[row] = requests.get(active[row]).params();
    }
    return out;
  }

  Generator[] activeGenerators() {
    Generator[] out = new Generator[active.length];
    for (int row = 0; row < active.length; row++) {
      out[row] = generators[active[row]];
    }
    return out;
  }

  /**
   * Records one token per active row and retires finished rows.
   *
   * @return the cache rows to keep (old row numbers) if any row finished, else null
   */
  int[] accept(Sampler.Choice choice) {
    int[] keep = new int[active.length];
    int kept = 0;
    for (int row = 0; row < active.length; row++) {
      int r = active[row];
      long token = choice.tokens()[row];
      tokens[r][counts[r]] = token;
      logProbs[r][counts[r]] = choice.logProbs()[row];
      counts[r]++;
      SamplingParams p = requests.get(r).params();
      if (isStop(token, stops[r])) {
        reasons[r] = FinishReason.STOP;
      } else if (counts[r] >= p.maxNewTokens()) {
        reasons[r] = FinishReason.LENGTH;
      } else {
        keep[kept++] = row;
      }
    }
    if (kept == active.length) {
      return null;
    }
    int[] next = new int[kept];
    for (int i = 0; i < kept; i++) {
      next[i] = active[keep[i]];
    }
    active = next;
    return Arrays.copyOf(keep, kept);
  }

  private static boolean isStop(long token, long[] stopIds) {
    for (long s : stopIds) {
      if (s == token) {
        return true;
      }
    }
    return false;
  }

  List<GenerationResult> results() {
    List<GenerationResult> out = new ArrayList<>();
    for (int r = 0; r < requests.size(); r++) {
      out.add(new GenerationResult(Arrays.copyOf(tokens[r], counts[r]),
          Arrays.copyOf(logProbs[r], counts[r]), reasons[r]));
    }
    return out;
  }
}
