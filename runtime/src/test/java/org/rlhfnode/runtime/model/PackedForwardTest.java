package org.rlhfnode.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * A packed forward carries a batch's real tokens end to end in one row and attends per sequence: the same
 * hidden states and gradients as unpacked (float32, ≤ 1e-5) for dense, biased, sliding-window and MoE
 * models, on right, left and two-sided padding, zeros on padding, and a tally of what it skipped.
 */
class PackedForwardTest {
  private static final int T = 24;
  /** Row b's real tokens as [first, end): full, right-padded, left-padded (PPO), padded on both sides. */
  private static final int[][] SPANS = {{0, 24}, {0, 5}, {13, 24}, {6, 13}};

  private static long[] mask() {
    long[] mask = new long[SPANS.length * T];
    for (int b = 0; b < SPANS.length; b++) {
      for (int t = SPANS[b][0]; t < SPANS[b][1]; t++) {
        mask[b * T + t] = 1;
      }
    }
    return mask;
  }

  @Test
  void theRealTokensGoEndToEndInOneRowAndBack() {
    try (PointerScope scope = new PointerScope()) {
      Tensor attention = Tensors.longs(mask(), SPANS.length, T);
      TokenLayout l = TokenLayout.packed(attention, CausalLm.attentionMask(attention.to(ScalarType.Bool), 0, T, 0));
      assertEquals(24 + 5 + 11 + 7, l.tokens());
      long[] toPacked = Tensors.toLongs(l.toPacked());
      assertEquals(0, toPacked[0]);
      assertEquals(T, toPacked[24]); // row 1 starts after row 0's 24 tokens
      assertEquals(2L * T + 13, toPacked[29]); // row 2 is left-padded: its first real token is t = 13
      assertEquals(3L * T + 6, toPacked[40]);
      long[] toPadded = Tensors.toLongs(l.toPadded());
      assertEquals(29, toPadded[2 * T + 13]);
      assertEquals(47, toPadded[2 * T]); // padding reads the zero row N
      float[] x = new float[SPANS.length * T];
      for (int i = 0; i < x.length; i++) {
        x[i] = i + 1;
      }
      Tensor padded = Tensors.floats(x, SPANS.length, T, 1);
      Tensor packed = l.unpad(padded); // [1, N, 1]
      assertArrayEquals(new long[] {1, 47, 1}, Tensors.shape(packed));
      float[] back = Tensors.toFloats(l.pad(packed, SPANS.length, T));
      long[] mask = mask();
      for (int i = 0; i < x.length; i++) {
        assertEquals(mask[i] == 0 ? 0f : x[i], back[i], "slot " + i);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "mistral", "mixtral"})
  void packedHiddenStatesAndGradientsEqualUnpacked(String fixture) {
    try (CausalLm model = ModelLoader.load(Fixtures.hfTiny(fixture), DeviceSpec.CPU, ScalarType.Float)) {
      Random rnd = new Random(7);
      long[] ids = new long[SPANS.length * T];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = 3 + rnd.nextInt(model.config().vocabSize() - 3);
      }
      long[] mask = mask();
      List<float[]> hidden = new ArrayList<>();
      List<float[]> grads = new ArrayList<>();
      for (boolean packed : new boolean[] {false, true}) {
        model.setPacking(packed);
        try (PointerScope scope = new PointerScope()) {
          model.parameters().values().forEach(w -> w.requires_grad_(true));
          Tensor h = model.hidden(Tensors.longs(ids, SPANS.length, T), Tensors.longs(mask, SPANS.length, T), null);
          Tensor real = Tensors.floats(toFloats(mask), SPANS.length, T, 1);
          Tensor logits = model.logits(h.mul(real)); // [B, T, V], padding rows zeroed in both layouts
          logits.mul(logits).sum().backward();
          hidden.add(Tensors.toFloats(h.mul(real)));
          grads.add(Tensors.toFloats(model.parameters().get("model.layers.0.self_attn.q_proj.weight").grad()));
          model.parameters().values().forEach(w -> w.grad().zero_());
          if (packed) {
            float[] all = Tensors.toFloats(h);
            for (int i = 0; i < mask.length; i++) {
              if (mask[i] == 0) {
                for (int d = 0; d < model.config().hiddenSize(); d++) {
                  assertEquals(0f, all[i * model.config().hiddenSize() + d], "padding is zero");
                }
              }
            }
          }
        }
      }
      assertEquals(new TokenLayout.Tally(47, (long) SPANS.length * T), model.packingTally());
      assertTrue(Fixtures.maxAbsDiff(hidden.get(0), hidden.get(1)) <= 1e-5,
          fixture + " hidden " + Fixtures.maxAbsDiff(hidden.get(0), hidden.get(1)));
      double scale = 0;
      for (float g : grads.get(0)) {
        scale = Math.max(scale, Math.abs(g));
      }
      assertTrue(scale > 0, "the gradient reached q_proj");
      assertTrue(Fixtures.maxAbsDiff(grads.get(0), grads.get(1)) <= 1e-5 * scale,
          fixture + " grad " + Fixtures.maxAbsDiff(grads.get(0), grads.get(1)) + " of " + scale);
    }
  }

  private static float[] toFloats(long[] mask) {
    float[] out = new float[mask.length];
    for (int i = 0; i < mask.length; i++) {
      out[i] = mask[i];
    }
    return out;
  }
}
