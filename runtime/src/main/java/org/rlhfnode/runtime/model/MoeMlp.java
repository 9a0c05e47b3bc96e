package org.rlhfnode.runtime.model;

import java.util.List;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Mixtral's sparse MoE block: router softmax over all experts in float32, top-k, the k weights
 * renormalised to sum to 1, and each token's output the weighted sum of its k experts' SwiGLU MLPs.
 * Each expert runs once on exactly the tokens routed to it.
 */
public final class MoeMlp implements FeedForward {
  private final Linear router; // [E, d]
  private final List<Mlp> experts;
  private final int topK;
  private final TensorParallel sumOver; // tensor-parallel experts: their partial outputs are summed here; else null

  public MoeMlp(Linear router, List<Mlp> experts, int topK) {
    this(router, experts, topK, null);
  }

  /**
   * A tensor-parallel rank's block ({@code sumOver} non-null): the router whole, each expert's w1/w3
   * output columns and w2 input columns this rank's. Every rank routes the same tokens the same way,
   * so the experts' partial outputs add up locally and one all-reduce per block completes them.
   */
  MoeMlp(Linear router, List<Mlp> experts, int topK, TensorParallel sumOver) {
    this.router = router;
    this.experts = List.copyOf(experts);
    this.topK = topK;
    this.sumOver = sumOver;
  }

  @Override
  public Tensor forward(Tensor x) {
    long[] shape = x.sizes().vec().get();
    long d = shape[shape.length - 1];
    Tensor tokens = x.reshape(-1, d); // [N, d]
    Tensor probs = torch.softmax(router.forward(tokens).to(ScalarType.Float), 1); // [N, E]
    T_TensorTensor_T top = torch.topk(probs, topK, 1, true, true);
    Tensor topWeights = top.get0();
    topWeights = topWeights.div(topWeights.sum(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional()));
    // dense [N, E] routing weights: zero except at each token's chosen experts
    Tensor routing = torch.zeros_like(probs).scatter(1, top.get1(), topWeights).to(x.scalar_type().intern());
    Tensor out = torch.zeros_like(tokens);
    for (int e = 0; e < experts.size(); e++) {
      Tensor column = routing.select(1, e); // [N]
      Tensor idx = torch.nonzero(column).flatten(); // tokens routed to expert e
      if (idx.numel() == 0) {
        continue;
      }
      Tensor y = experts.get(e).forward(tokens.index_select(0, idx))
          .mul(column.index_select(0, idx).unsqueeze(1));
      out.index_add_(0, idx, y);
    }
    if (sumOver != null) {
      sumOver.allReduceSum(out);
    }
    return out.view(shape);
  }
}
