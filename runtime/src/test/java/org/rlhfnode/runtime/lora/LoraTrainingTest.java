package org.rlhfnode.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.train.AdamW;

class LoraTrainingTest {

  /** Mean next-token negative log-likelihood of row 0 of the fixture batch (which has no padding). */
  private static Tensor nextTokenLoss(CausalLm model) {
    Tensor[] b = LoraTestSupport.batch("llama");
    Tensor ids = b[0].narrow(0, 0, 1); // [1, T]
    long t = ids.size(1);
    Tensor logits = model.forward(ids, b[1].narrow(0, 0, 1)).select(0, 0).narrow(0, 0, t - 1); // [T-1, V]
    Tensor targets = ids.select(0, 0).narrow(0, 1, t - 1).unsqueeze(1); // [T-1, 1]
    return torch.log_softmax(logits, 1).gather(1, targets).mean().neg();
  }

  @Test
  void gradientsReachOnlyTheAdapters() {
    try (CausalLm model = LoraTestSupport.load("llama"); PointerScope s = new PointerScope()) {
      LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(4, 8, 0.1, "all-linear"), 1);
      LoraTestSupport.randomizeB(lora, 2, 0.05);
      lora.setTraining(true);
      nextTokenLoss(model).backward();
      for (Map.Entry<String, Tensor> e : model.parameters().entrySet()) {
        assertFalse(e.getValue().requires_grad(), e.getKey() + " is not frozen");
        assertFalse(e.getValue().grad().defined(), e.getKey() + " received a gradient");
      }
      Map<String, Tensor> trainable = lora.trainableParameters();
      assertEquals(2 * 14, trainable.size());
      assertTrue(trainable.containsKey("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
      for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
        Tensor grad = e.getValue().grad();
        assertTrue(grad.defined(), e.getKey() + " has no gradient");
        assertTrue(grad.abs().sum().item_double() > 0, e.getKey() + " has an all-zero gradient");
      }
      lora.close();
    }
  }

  @Test
  void adamWOnTheAdaptersLowersTheLossAndLeavesBaseWeightsAlone() {
    try (CausalLm model = LoraTestSupport.load("llama"); PointerScope s = new PointerScope()) {
      Tensor q0 = model.parameters().get("model.layers.0.self_attn.q_proj.weight").clone();
      LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0, "all-linear"), 1);
      lora.setTraining(true);
      double first = Double.NaN;
      double last = Double.NaN;
      try (AdamW opt = new AdamW(lora.trainableParameters(), AdamW.Options.DEFAULTS)) {
        for (int step = 0; step < 10; step++) {
          try (PointerScope stepScope = new PointerScope()) {
            Tensor loss = nextTokenLoss(model);
            last = loss.item_double();
            first = step == 0 ? last : first;
            loss.backward();
            opt.step(1e-2);
            opt.zeroGrad();
          }
        }
      }
      assertTrue(last < first - 0.5, "loss went from " + first + " to " + last);
      assertTrue(torch.equal(q0, model.parameters().get("model.layers.0.self_attn.q_proj.weight")));
      assertTrue(Tensors.toFloats(lora.layers().values().iterator().next().loraB().abs().sum())[0] > 0);
      lora.close();
      assertTrue(nextTokenLoss(model).sub(new Scalar(first)).abs().item_double() < 1e-5, "closing restores the base");
    }
  }
}
