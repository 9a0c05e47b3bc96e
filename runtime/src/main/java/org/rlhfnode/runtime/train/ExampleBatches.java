package org.rlhfnode.runtime.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.rlhfnode.runtime.data.BatchIterator;
import org.rlhfnode.runtime.data.DataCursor;

/**
 * A {@link BatchSource} over examples: each optimizer step takes {@code accumulation} shuffled
 * micro-batches of {@code micro_train_batch_size} examples from a {@link BatchIterator} and collates
 * each one. The iterator's cursor (seed, epoch, position) is what a checkpoint stores.
 */
public final class ExampleBatches<E, B> implements BatchSource<B> {
  private final BatchIterator<E> micro;
  private final int accumulation;
  private final Function<List<E>, B> collate;

  public ExampleBatches(BatchIterator<E> micro, int accumulation, Function<List<E>, B> collate) {
    this.micro = micro;
    this.accumulation = accumulation;
    this.collate = collate;
  }

  @Override
  public List<B> nextStep() {
    List<B> out = new ArrayList<>(accumulation);
    for (int i = 0; i < accumulation; i++) {
      if (!micro.hasNext()) {
        throw new IllegalStateException("the data ran out before the last optimizer step");
      }
      out.add(collate.apply(micro.next()));
    }
    return out;
  }

  @Override
  public long stepsPerEpoch() {
    return micro.batchesPerEpoch() / accumulation;
  }

  @Override
  public Map<String, Object> cursor() {
    DataCursor c = micro.cursor();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("seed", c.seed());
    m.put("epoch", (long) c.epoch());
    m.put("position", (long) c.position());
    m.put("dataset_size", (long) c.datasetSize());
    return m;
  }

  @Override
  public void restore(Map<String, Object> cursor) {
    micro.restore(new DataCursor(number(cursor, "seed"), (int) number(cursor, "epoch"),
        (int) number(cursor, "position"), (int) number(cursor, "dataset_size")));
  }

  private static long number(Map<String, Object> m, String key) {
    Object v = m.get(key);
    if (!(v instanceof Number)) {
      throw new IllegalArgumentException("checkpoint data cursor lacks '" + key + "'");
    }
    return ((Number) v).longValue();
  }
}
