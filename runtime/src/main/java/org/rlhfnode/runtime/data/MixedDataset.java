package org.rlhfnode.runtime.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A training set mixed from one or more sources, plus its eval set, as OpenRLHF's
 * {@code blending_datasets} builds it: each source is capped at {@code max_samples}; a seeded
 * {@code eval_split} fraction of each source is held out (disjoint from training), or the eval set is
 * read from {@code eval_dataset} or from a named {@code eval_split}; the training parts are interleaved with
 * {@code dataset_probs} (or concatenated without them) and capped at {@code max_samples} again.
 * Records become examples through a builder; examples too long for {@code max_len} are dropped and
 * listed in {@link #dropped()}, never silently. Immutable.
 *
 * @param <T> the example type
 */
public final class MixedDataset<T> {
  private static final Logger LOG = LoggerFactory.getLogger(MixedDataset.class);

  private final List<T> train;
  private final List<T> eval;
  private final List<String> dropped;
  private final long seed;

  private MixedDataset(List<T> train, List<T> eval, List<String> dropped, long seed) {
    this.train = List.copyOf(train);
    this.eval = List.copyOf(eval);
    this.dropped = List.copyOf(dropped);
    this.seed = seed;
  }

  /** SFT / pretraining examples from {@code options.dataset()}. */
  public static MixedDataset<SftExample> sft(DataOptions options, TokenizerView tokenizer) {
    return load(options, new ExampleBuilder(options, tokenizer)::sft);
  }

  /** Preference pairs (RM, DPO) from {@code options.dataset()}. */
  public static MixedDataset<PairExample> pairs(DataOptions options, TokenizerView tokenizer) {
    return load(options, new ExampleBuilder(options, tokenizer)::pair);
  }

  /** KTO examples from {@code options.dataset()}. */
  public static MixedDataset<KtoExample> kto(DataOptions options, TokenizerView tokenizer) {
    return load(options, new ExampleBuilder(options, tokenizer)::kto);
  }

  /** Generation prompts from {@code options.dataset()}. */
  public static MixedDataset<PromptExample> prompts(DataOptions options, TokenizerView tokenizer) {
    ExampleBuilder builder = new ExampleBuilder(options, tokenizer);
    return load(options, r -> Optional.of(builder.prompt(r)));
  }

  /**
   * Reads split {@code dataset_split} of each {@code options.dataset()} source and the eval sources
   * ({@link DatasetReader#readEval}), and builds every record with {@code build}.
   */
  public static <T> MixedDataset<T> load(DataOptions options, Function<JsonRecord, Optional<T>> build) {
    if (options.datasetPaths().isEmpty()) {
      throw new IllegalArgumentException("dataset names no path");
    }
    List<List<JsonRecord>> sources = DatasetReader.readTrain(options);
    for (int i = 0; i < sources.size(); i++) {
      if (sources.get(i).isEmpty()) {
        throw new DataFormatException(Path.of(options.datasetPaths().get(i)), 0, "dataset holds no records");
      }
    }
    List<List<JsonRecord>> evalSources = DatasetReader.readEval(options);
    return fromRecords(sources, evalSources, options, build);
  }

  /**
   * Builds from records already read: {@code sources} mixed for training, {@code evalSources}
   * concatenated for evaluation (when empty, the eval set is the {@code eval_split} hold-out).
   */
  public static <T> MixedDataset<T> fromRecords(List<List<JsonRecord>> sources, List<List<JsonRecord>> evalSources,
      DataOptions options, Function<JsonRecord, Optional<T>> build) {
    Objects.requireNonNull(build, "build");
    if (options.datasetProbs() != null && options.datasetProbs().size() != sources.size()) {
      throw new IllegalArgumentException("dataset_probs has " + options.datasetProbs().size()
          + " entries for " + sources.size() + " source(s)");
    }
    List<String> dropped = new ArrayList<>();
    List<T> eval = new ArrayList<>();
    List<List<T>> trainParts = buildSources(sources, options, build, eval, dropped);
    for (List<JsonRecord> records : evalSources) {
      eval.addAll(buildAll(records, build, dropped));
    }
    List<T> train = interleave(trainParts, options.datasetProbs(), Seeds.derive(options.seed(), Seeds.MIX, 0),
        options.maxSamples());
    if (!dropped.isEmpty()) {
      LOG.warn("dropped {} example(s) whose prompt leaves fewer than 2 of max_len={} tokens for the response,"
          + " first at {}", dropped.size(), options.maxLen(), dropped.get(0));
    }
    LOG.info("dataset: {} training and {} eval examples from {} source(s)", train.size(), eval.size(), sources.size());
    return new MixedDataset<>(train, eval, dropped, options.seed());
  }

  /** Caps, splits and builds each source; returns the training parts and adds hold-outs to {@code eval}. */
  private static <T> List<List<T>> buildSources(List<List<JsonRecord>> sources, DataOptions options,
      Function<JsonRecord, Optional<T>> build, List<T> eval, List<String> dropped) {
    List<List<T>> trainParts = new ArrayList<>();
    for (int i = 0; i < sources.size(); i++) {
      List<JsonRecord> records = cap(sources.get(i), options.maxSamples());
      if (records.isEmpty()) {
        throw new IllegalArgumentException("dataset source " + i + " has no records");
      }
      long splitSeed = Seeds.derive(options.seed(), Seeds.SPLIT, i);
      List<List<JsonRecord>> split = holdOut(records, options.evalSplit(), splitSeed);
      List<T> part = buildAll(split.get(0), build, dropped);
      if (part.isEmpty()) {
        throw new DataFormatException(records.get(0).file(), 0, "no usable training examples in this source");
      }
      trainParts.add(part);
      eval.addAll(buildAll(split.get(1), build, dropped));
    }
    return trainParts;
  }

  /** Training examples, in mixed order (the batch iterator shuffles per epoch). */
  public List<T> train() {
    return train;
  }

  /** Held-out or separately given eval examples. */
  public List<T> eval() {
    return eval;
  }

  /** {@code file:line} of every record dropped for length. */
  public List<String> dropped() {
    return dropped;
  }

  /** Shuffled training batches over {@code maxEpochs} epochs, dropping each epoch's short last batch. */
  public BatchIterator<T> trainBatches(int batchSize, int maxEpochs) {
    return new BatchIterator<>(train, batchSize, true, true, seed, maxEpochs);
  }

  /** One pass over the eval set in order, keeping the short last batch. */
  public BatchIterator<T> evalBatches(int batchSize) {
    return new BatchIterator<>(eval, batchSize, false, false, seed, 1);
  }

  /**
   * Interleaves {@code sources}: each step draws source i with probability p_i (normalised) and takes
   * its next example, restarting a source once it is used up, until every source has been used up
   * at least once (HF {@code interleave_datasets}, {@code all_exhausted}). Without probabilities the
   * sources are concatenated. Either way the result stops after {@code limit} examples.
   */
  public static <T> List<T> interleave(List<? extends List<T>> sources, List<Double> probs, long seed, int limit) {
    if (probs == null) {
      List<T> out = new ArrayList<>();
      sources.forEach(out::addAll);
      return cap(out, limit);
    }
    double[] cumulative = cumulative(probs);
    int[] next = new int[sources.size()];
    boolean[] exhausted = new boolean[sources.size()];
    int exhaustedCount = 0;
    List<T> out = new ArrayList<>();
    SplittableRandom random = new SplittableRandom(seed);
    while (exhaustedCount < sources.size() && out.size() < limit) {
      int s = pick(cumulative, random.nextDouble());
      List<T> source = sources.get(s);
      out.add(source.get(next[s]++));
      if (next[s] == source.size()) {
        next[s] = 0;
        if (!exhausted[s]) {
          exhausted[s] = true;
          exhaustedCount++;
        }
      }
    }
    return out;
  }

  /**
   * Splits {@code records} into [train, eval]: ⌈n·fraction⌉ records (at most n − 1) drawn with
   * {@code seed} go to eval; both keep the original order.
   */
  static <R> List<List<R>> holdOut(List<R> records, double fraction, long seed) {
    int n = records.size();
    int evalCount = fraction <= 0.0 || n < 2 ? 0 : Math.min(n - 1, (int) Math.ceil(n * fraction));
    boolean[] isEval = new boolean[n];
    int[] perm = BatchIterator.permutation(n, seed, 0);
    for (int i = 0; i < evalCount; i++) {
      isEval[perm[i]] = true;
    }
    List<R> train = new ArrayList<>(n - evalCount);
    List<R> eval = new ArrayList<>(evalCount);
    for (int i = 0; i < n; i++) {
      (isEval[i] ? eval : train).add(records.get(i));
    }
    return List.of(train, eval);
  }

  private static <T> List<T> buildAll(List<JsonRecord> records, Function<JsonRecord, Optional<T>> build,
      List<String> dropped) {
    List<T> out = new ArrayList<>(records.size());
    for (JsonRecord r : records) {
      Optional<T> example = build.apply(r);
      if (example.isPresent()) {
        out.add(example.get());
      } else {
        dropped.add(r.location());
      }
    }
    return out;
  }

  private static <T> List<T> cap(List<T> list, int max) {
    return list.size() <= max ? list : list.subList(0, max);
  }

  private static double[] cumulative(List<Double> probs) {
    double total = probs.stream().mapToDouble(Double::doubleValue).sum();
    double[] c = new double[probs.size()];
    double acc = 0.0;
    for (int i = 0; i < c.length; i++) {
      acc += probs.get(i) / total;
      c[i] = acc;
    }
    c[c.length - 1] = 1.0;
    return c;
  }

  private static int pick(double[] cumulative, double u) {
    int i = Arrays.binarySearch(cumulative, u);
    int at = i >= 0 ? i + 1 : -i - 1;
    return Math.min(at, cumulative.length - 1);
  }
}
