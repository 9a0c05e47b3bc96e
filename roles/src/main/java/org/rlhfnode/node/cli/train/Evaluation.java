package org.rlhfnode.node.cli.train;

import java.util.List;
import java.util.function.ToDoubleFunction;
import org.bytedeco.javacpp.PointerScope;
import org.rlhfnode.runtime.data.BatchIterator;

/** Averages a per-batch metric over an evaluation set, one native scope per batch. */
final class Evaluation {
  private Evaluation() {}

  static <E> double mean(BatchIterator<E> batches, ToDoubleFunction<List<E>> metric) {
    double sum = 0;
    int n = 0;
    while (batches.hasNext()) {
      List<E> batch = batches.next();
      try (PointerScope scope = new PointerScope()) {
        sum += metric.applyAsDouble(batch);
      }
      n++;
    }
    return n == 0 ? Double.NaN : sum / n;
  }
}
