package org.rlhfnode.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.model.CausalLm;

class LoraTargetsTest {

  @Test
  void allLinearTakesEveryProjectionButTheHead() {
    try (CausalLm llama = LoraTestSupport.load("llama")) {
      List<String> chosen = LoraTargets.resolve(llama, LoraTestSupport.config(4, 8, 0, "all-linear"));
      assertEquals(14, chosen.size(), chosen.toString()); // 2 layers × (q, k, v, o, gate, up, down)
      assertEquals("model.layers.0.self_attn.q_proj", chosen.get(0));
      assertEquals("model.layers.1.mlp.down_proj", chosen.get(13));
      assertFalse(chosen.contains(CausalLm.LM_HEAD_MODULE));
      assertEquals(List.of("down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"),
          LoraTargets.savedNames(LoraTestSupport.config(4, 8, 0, "all-linear"), chosen));
    }
  }

  @Test
  void explicitNamesMatchWholeNamesOrDottedSuffixes() {
    try (CausalLm llama = LoraTestSupport.load("llama")) {
      assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
          "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"),
          LoraTargets.resolve(llama, LoraTestSupport.config(4, 8, 0, "q_proj", "v_proj")));
      assertEquals(List.of("model.layers.1.self_attn.o_proj"),
          LoraTargets.resolve(llama, LoraTestSupport.config(4, 8, 0, "model.layers.1.self_attn.o_proj")));
      assertEquals(List.of("model.layers.0.mlp.up_proj", "model.layers.1.mlp.up_proj"),
          LoraTargets.resolve(llama, LoraTestSupport.config(4, 8, 0, "mlp.up_proj")));
      // "proj" is not a dotted suffix of "q_proj": PEFT's list rule never matches part of a name
      assertThrows(IllegalArgumentException.class,
          () -> LoraTargets.resolve(llama, LoraTestSupport.config(4, 8, 0, "proj")));
      assertEquals(List.of(CausalLm.LM_HEAD_MODULE),
          LoraTargets.resolve(llama, LoraTestSupport.config(4, 8, 0, "lm_head")));
    }
  }

  @Test
  void mixtralTargetsIncludeTheRouterAndEveryExpert() {
    try (CausalLm mixtral = LoraTestSupport.load("mixtral")) {
      List<String> all = LoraTargets.resolve(mixtral, LoraTestSupport.config(4, 8, 0, "all-linear"));
      assertEquals(2 * (4 + 1 + 4 * 3), all.size(), all.toString()); // attention, router, 4 experts × w1 w2 w3
      assertTrue(all.contains("model.layers.0.block_sparse_moe.gate"));
      assertTrue(all.contains("model.layers.1.block_sparse_moe.experts.3.w2"));
      List<String> experts = LoraTargets.resolve(mixtral, LoraTestSupport.config(4, 8, 0, "w1", "w2", "w3"));
      assertEquals(2 * 4 * 3, experts.size());
      assertEquals(List.of("model.layers.0.block_sparse_moe.experts.0.w1", "model.layers.0.block_sparse_moe.experts.0.w2",
          "model.layers.0.block_sparse_moe.experts.0.w3"), experts.subList(0, 3));
      assertTrue(experts.stream().noneMatch(m -> m.endsWith(".gate")));
    }
  }

  @Test
  void unknownNameListsTheModelsProjections() {
    try (CausalLm mixtral = LoraTestSupport.load("mixtral")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> LoraTargets.resolve(mixtral, LoraTestSupport.config(4, 8, 0, "q_proj", "gate_proj")));
      assertTrue(e.getMessage().contains("'gate_proj'")
          && e.getMessage().contains("q_proj, k_proj, v_proj, o_proj, gate, w1, w2, w3, lm_head"), e.getMessage());
    }
  }

  @Test
  void tiedHeadCannotTakeAnAdapter() {
    try (CausalLm qwen = LoraTestSupport.load("qwen2")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> LoraTargets.resolve(qwen, LoraTestSupport.config(4, 8, 0, "lm_head")));
      assertTrue(e.getMessage().contains("tie_word_embeddings"), e.getMessage());
      assertEquals(14, LoraTargets.resolve(qwen, LoraTestSupport.config(4, 8, 0, "all-linear")).size());
    }
  }

  @Test
  void regexTargetsMatchWholeModuleNames() {
    try (CausalLm llama = LoraTestSupport.load("llama")) {
      assertEquals(List.of("model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.v_proj"),
          LoraTargets.matchPattern(llama, "model\\.layers\\.1\\.self_attn\\.(k|v)_proj"));
      assertThrows(IllegalArgumentException.class, () -> LoraTargets.matchPattern(llama, "q_proj"));
    }
  }
}
