package org.rlhfnode.runtime.data;

/**
 * Where a {@link BatchIterator} stands: saved in a checkpoint and restored on resume so the resumed
 * run sees exactly the batches the uninterrupted run would have seen.
 *
 * @param seed the shuffling seed; epoch e uses the permutation drawn from (seed, e)
 * @param epoch the epoch the next batch comes from
 * @param position examples of that epoch already handed out
 * @param datasetSize size of the dataset the cursor belongs to, checked on restore
 */
public record DataCursor(long seed, int epoch, int position, int datasetSize) {

  public DataCursor {
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
    }
    if (position < 0) {
      throw new IllegalArgumentException("position must be >= 0, got " + position);
    }
    if (datasetSize < 0) {
      throw new IllegalArgumentException("datasetSize must be >= 0, got " + datasetSize);
    }
    if (position > datasetSize) {
      throw new IllegalArgumentException("position " + position + " is past the dataset size " + datasetSize);
    }
  }
}
