package org.rlhfnode.runtime.data;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Hands out batches over several epochs. With shuffling, epoch e visits the examples in a
 * permutation drawn from (seed, e) alone, like a distributed sampler seeded with {@code seed + epoch},
 * so any epoch can be recreated without replaying earlier ones. {@link #cursor()} exports where the
 * iterator stands and {@link #restore(DataCursor)} puts a fresh iterator there: a resumed run then
 * sees the same batches as an uninterrupted one. Not thread-safe.
 *
 * @param <T> the example type
 */
public final class BatchIterator<T> implements Iterator<List<T>> {
  private final List<T> data;
  private final int batchSize;
  private final boolean shuffle;
  private final boolean dropLast;
  private final int maxEpochs;
  private long seed;
  private int epoch;
  private int position;
  private int[] order;
  private int orderEpoch = -1;

  /**
   * @param data the examples (not copied; must not change while iterating)
   * @param batchSize examples per batch, at least 1
   * @param shuffle permute each epoch; otherwise dataset order
   * @param dropLast skip an epoch's last batch when it is short (OpenRLHF's training loaders do)
   * @param seed shuffling seed
   * @param maxEpochs number of passes before {@link #hasNext()} turns false
   */
  public BatchIterator(List<T> data, int batchSize, boolean shuffle, boolean dropLast, long seed, int maxEpochs) {
    this.data = Objects.requireNonNull(data, "data");
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
    }
    if (maxEpochs < 0) {
      throw new IllegalArgumentException("max_epochs must be >= 0, got " + maxEpochs);
    }
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.seed = seed;
    this.maxEpochs = maxEpochs;
  }

  /** Batches per epoch: ⌊N/B⌋ with dropLast, ⌈N/B⌉ without. */
  public int batchesPerEpoch() {
    int n = data.size();
    return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
  }

  /** The epoch the next batch comes from. */
  public int epoch() {
    return epoch;
  }

  @Override
  public boolean hasNext() {
    return epoch < maxEpochs && batchesPerEpoch() > 0;
  }

  @Override
  public List<T> next() {
    if (!hasNext()) {
      throw new NoSuchElementException("no batches left after " + maxEpochs + " epoch(s)");
    }
    int[] perm = order();
    int end = Math.min(position + batchSize, data.size());
    List<T> batch = new ArrayList<>(end - position);
    for (int i = position; i < end; i++) {
      batch.add(data.get(perm[i]));
    }
    position = end;
    int remaining = data.size() - position;
    if (remaining == 0 || dropLast && remaining < batchSize) {
      epoch++;
      position = 0;
    }
    return batch;
  }

  /** Where the iterator stands now; the next batch is the first one a restored iterator returns. */
  public DataCursor cursor() {
    return new DataCursor(seed, epoch, position, data.size());
  }

  /** Moves to {@code cursor}, adopting its seed; the dataset must have the size it was saved with. */
  public void restore(DataCursor cursor) {
    Objects.requireNonNull(cursor, "cursor");
    if (cursor.datasetSize() != data.size()) {
      throw new IllegalArgumentException("data cursor was saved for " + cursor.datasetSize()
          + " examples but the dataset has " + data.size());
    }
    if (cursor.epoch() > maxEpochs) {
      throw new IllegalArgumentException("data cursor is at epoch " + cursor.epoch() + ", past max_epochs "
          + maxEpochs);
    }
    this.seed = cursor.seed();
    this.epoch = cursor.epoch();
    this.position = cursor.position();
    this.orderEpoch = -1;
  }

  private int[] order() {
    if (orderEpoch != epoch) {
      order = shuffle ? permutation(data.size(), seed, epoch) : identity(data.size());
      orderEpoch = epoch;
    }
    return order;
  }

  /** The Fisher–Yates permutation of 0..n−1 drawn from (seed, epoch). */
  public static int[] permutation(int n, long seed, int epoch) {
    int[] p = identity(n);
    SplittableRandom random = new SplittableRandom(Seeds.derive(seed, Seeds.SHUFFLE, epoch));
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  private static int[] identity(int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    return p;
  }
}
