package org.rlhfnode.runtime.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.tensor.Tensors;

/** The fused attention path against a plain softmax(QKᵀ/√d + mask)·V on random inputs. */
class AttentionReferenceTest {

  @Test
  void fusedGqaAttentionWithPaddingAndWindowMatchesUnfusedReference() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(11);
      long b = 2;
      long t = 9;
      long heads = 4;
      long kvHeads = 2;
      long d = 8;
      Tensor q = torch.randn(b, heads, t, d);
      Tensor k = torch.randn(b, kvHeads, t, d);
      Tensor v = torch.randn(b, kvHeads, t, d);
      // row 1 has 3 left-pad slots
      Tensor valid = Tensors.longs(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1}, b, t)
          .to(ScalarType.Bool);
      Tensor mask = CausalLm.attentionMask(valid, 0, t, 4);
      Tensor fused = torch.scaled_dot_product_attention(q, k, v, new TensorOptional(mask), 0.0, false,
          new DoubleOptional(), true);
      Tensor kRep = torch.repeat_interleave(k, heads / kvHeads, new org.bytedeco.pytorch.LongOptional(1),
          new org.bytedeco.pytorch.LongOptional());
      Tensor vRep = torch.repeat_interleave(v, heads / kvHeads, new org.bytedeco.pytorch.LongOptional(1),
          new org.bytedeco.pytorch.LongOptional());
      Tensor scores = q.matmul(kRep.transpose(2, 3)).div(new Scalar(Math.sqrt(d)));
      scores = scores.masked_fill(mask.logical_not(), new Scalar(Float.NEGATIVE_INFINITY));
      Tensor reference = torch.softmax(scores, -1).matmul(vRep);
      double diff = Fixtures.maxAbsDiff(Tensors.toFloats(fused), Tensors.toFloats(reference));
      assertTrue(diff < 1e-5, "fused vs reference attention differ by " + diff);
      // the window: query 8 of row 0 sees keys 5..8 only
      float[] m = Tensors.toFloats(mask.select(0, 0).select(0, 0).select(0, 8));
      assertTrue(m[4] == 0 && m[5] == 1 && m[8] == 1, java.util.Arrays.toString(m));
    }
  }
}
