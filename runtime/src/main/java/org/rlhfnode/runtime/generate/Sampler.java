package org.rlhfnode.runtime.generate;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * Picks the next token of each row from its logits, in HF's warper order: temperature, top-k,
 * top-p, then a draw from the row's own seeded generator (so a request's samples do not depend on
 * the other rows of the batch). Greedy rows take the arg-max.
 */
final class Sampler {
  private Sampler() {}

  /** Chosen tokens and their log-probabilities, one per row. */
  record Choice(long[] tokens, float[] logProbs) {}

  /**
   * @param logits [B, V] float32 next-token logits of the active rows
   * @param params the sampling parameters of each row
   * @param generators each row's generator (ignored for greedy rows)
   */
  static Choice choose(Tensor logits, SamplingParams[] params, Generator[] generators) {
    int rows = params.length;
    float[] temperatures = new float[rows];
    boolean allGreedy = true;
    for (int i = 0; i < rows; i++) {
      temperatures[i] = params[i].greedy() ? 1f : (float) params[i].temperature();
      allGreedy &= params[i].greedy();
    }
    Tensor scaled = logits.div(Tensors.floats(temperatures, rows, 1).to(logits.device(), ScalarType.Float));
    Tensor chosen; // [B] int64
    if (allGreedy) {
      chosen = torch.argmax(logits, new LongOptional(-1), false);
    } else {
      long[] ids = new long[rows];
      long[] argmax = Tensors.toLongs(torch.argmax(logits, new LongOptional(-1), false));
      for (int i = 0; i < rows; i++) {
        ids[i] = params[i].greedy() ? argmax[i] : draw(scaled.select(0, i), params[i], generators[i]);
      }
      chosen = Tensors.longs(ids, rows).to(logits.device(), ScalarType.Long);
    }
    Tensor logProbs = torch.log_softmax(scaled, 1).gather(1, chosen.unsqueeze(1)).squeeze(1);
    return new Choice(Tensors.toLongs(chosen), Tensors.toFloats(logProbs));
  }

  /** Samples one id from a temperature-scaled logits row [V] after top-k and top-p. */
  static long draw(Tensor row, SamplingParams p, Generator generator) {
    Tensor warped = row;
    long vocab = row.size(0);
    Scalar negInf = new Scalar(Float.NEGATIVE_INFINITY);
    if (p.topK() > 0 && p.topK() < vocab) {
      Tensor kth = torch.topk(warped, p.topK(), -1, true, true).get0().narrow(0, p.topK() - 1, 1);
      warped = warped.masked_fill(warped.lt(kth), negInf);
    }
    if (p.topP() < 1.0) {
      T_TensorTensor_T sorted = torch.sort(warped, -1, true);
      Tensor sortedLogits = sorted.get0();
      Tensor probs = torch.softmax(sortedLogits, -1);
      // keep token i while the mass of strictly better tokens is below top_p (the first always stays)
      Tensor before = torch.cumsum(probs, -1).sub(probs);
      long kept = Math.max(1L, before.lt(new Scalar(p.topP())).sum().item_long());
      Tensor threshold = sortedLogits.narrow(0, kept - 1, 1);
      warped = warped.masked_fill(warped.lt(threshold), negInf);
    }
    Tensor probs = torch.softmax(warped, -1);
    return torch.multinomial(probs, 1, false, new GeneratorOptional(generator)).item_long();
  }
}
