package org.rlhfnode.node.supervisor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.rlhfnode.messages.TensorMap;
import org.rlhfnode.messages.TensorNames;
import org.rlhfnode.messages.WireTensor;
import org.rlhfnode.node.ppo.WireArrays;
import org.rlhfnode.runtime.algo.ppo.DynamicFilter;
import org.rlhfnode.runtime.algo.ppo.RolloutRows;

/**
 * The rounds of one iteration's dynamic sampling ({@link DynamicFilter}), for {@link IterationRun}: each
 * round's rows are scored by the reward role, the groups whose mean score lies strictly inside the
 * range are kept (in round order, then prompt order), and the next round asks for as many replacement
 * prompts as groups are still missing, until {@code wanted} groups are kept or the replacement prompts
 * run out. The kept samples become the iteration's rows, with their reward tensors, so the reward role is
 * not asked again. Pure bookkeeping: no messaging, used on the child's thread only.
 */
final class FilterRounds {
  /** One kept sample: its parts and its reward values by tensor name. */
  private record Sample(long[] prompt, long[] response, float[] logProbs, boolean truncated, String label,
      Map<String, Float> reward) {}

  private final DynamicFilter filter;
  private final int wanted;
  private final int samplesPerPrompt;
  private final int available;
  private final List<Sample> kept = new ArrayList<>();
  private int keptGroups;
  private int triedGroups;
  private int replacementsUsed;

  /**
   * @param wanted the groups the iteration trains on (rollout_batch_size)
   * @param available how many replacement prompts there are
   */
  FilterRounds(DynamicFilter filter, int wanted, int samplesPerPrompt, int available) {
    this.filter = filter;
    this.wanted = wanted;
    this.samplesPerPrompt = samplesPerPrompt;
    this.available = available;
  }

  /**
   * A round came back from the reward role.
   *
   * @param rows the round's rows, n per prompt
   * @param labels the label of each row
   * @param reward the reward role's tensors, each [B]
   */
  void add(RolloutRows rows, List<String> labels, TensorMap reward) {
    double[] scores = WireArrays.doubles(reward.find(TensorNames.FILTER_SCORES)
        .orElse(reward.require(TensorNames.SCORES)));
    boolean[] keep = filter.keep(scores, samplesPerPrompt);
    Map<String, float[]> values = new LinkedHashMap<>();
    for (String name : reward.names()) {
      if (!name.equals(TensorNames.FILTER_SCORES)) {
        values.put(name, reward.require(name).toFloatArray());
      }
    }
    boolean[] cut = rows.truncated();
    for (int g = 0; g < keep.length; g++) {
      triedGroups++;
      if (!keep[g] || keptGroups == wanted) {
        continue;
      }
      keptGroups++;
      for (int i = g * samplesPerPrompt; i < (g + 1) * samplesPerPrompt; i++) {
        Map<String, Float> r = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : values.entrySet()) {
          r.put(e.getKey(), e.getValue()[i]);
        }
        kept.add(new Sample(rows.prompt(i), rows.response(i), rows.responseLogProbs(i), cut[i], labels.get(i), r));
      }
    }
  }

  /** How many replacement prompts the next round takes; 0 when the batch is full or none are left. */
  int nextRoundSize() {
    return Math.min(wanted - keptGroups, available - replacementsUsed);
  }

  /** Marks {@code count} more replacement prompts used; returns the position of the first of them. */
  int takeReplacements(int count) {
    int from = replacementsUsed;
    replacementsUsed += count;
    return from;
  }

  int keptGroups() {
    return keptGroups;
  }

  int triedGroups() {
    return triedGroups;
  }

  /** OpenRLHF's {@code dynamic_filtering_pass_rate}: kept groups per prompt tried, in percent. */
  double passRate() {
    return triedGroups == 0 ? Double.NaN : 100.0 * keptGroups / triedGroups;
  }

  /** The rows of the kept samples, in the order they were kept. */
  RolloutRows rows() {
    List<long[]> prompts = new ArrayList<>(kept.size());
    List<long[]> responses = new ArrayList<>(kept.size());
    List<float[]> logProbs = new ArrayList<>(kept.size());
    boolean[] truncated = new boolean[kept.size()];
    for (int i = 0; i < kept.size(); i++) {
      Sample s = kept.get(i);
      prompts.add(s.prompt());
      responses.add(s.response());
      logProbs.add(s.logProbs());
      truncated[i] = s.truncated();
    }
    return RolloutRows.of(prompts, responses, logProbs, truncated, WireArrays.PAD);
  }

  /** The label of each kept sample. */
  List<String> labels() {
    return kept.stream().map(Sample::label).toList();
  }

  /** The reward tensors of the kept samples; a value a round did not send (an extra log) is NaN. */
  TensorMap reward() {
    TreeSet<String> names = new TreeSet<>();
    kept.forEach(s -> names.addAll(s.reward().keySet()));
    TensorMap out = null;
    for (String name : names) {
      float[] v = new float[kept.size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = kept.get(i).reward().getOrDefault(name, Float.NaN);
      }
      WireTensor t = WireTensor.ofFloats(new long[] {v.length}, v);
      out = out == null ? TensorMap.of(name, t) : out.with(name, t);
    }
    return out;
  }
}
