package org.rlhfnode.runtime.train;

import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * One training algorithm as the {@link Trainer} sees it: the loss of a micro-batch, scaled so that
 * the micro-batches of one optimizer step add up to the step's loss (algorithms.md §2), and the
 * metrics it logs.
 *
 * @param <B> the micro-batch type
 */
public interface Objective<B> {

  /** The loss of one micro-batch (a scalar with its autograd graph) and its metrics. */
  record MicroResult(Tensor loss, double value, long tokens, Map<String, Double> metrics) {}

  /**
   * A normaliser over every micro-batch of one optimizer step, computed before any forward (for
   * token-mode losses: the number of target tokens in the step; for pair losses: pairs).
   */
  double stepDenominator(List<B> microBatches);

  /** Forward pass and loss for one micro-batch under the current grad mode. */
  MicroResult forward(B microBatch, double stepDenominator);

  /** Metric names in log order (besides loss); used for summaries. */
  List<String> metricNames();
}
