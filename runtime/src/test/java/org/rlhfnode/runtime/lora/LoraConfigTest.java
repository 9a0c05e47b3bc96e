package org.rlhfnode.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LoraConfigTest {

  @Test
  void scalingIsAlphaOverRank() {
    LoraConfig c = new LoraConfig(8, 16, 0.05, List.of("q_proj", "v_proj"));
    assertEquals(2.0, c.scaling());
    assertEquals(List.of("q_proj", "v_proj"), c.targetModules());
  }

  @Test
  void rejectsOutOfRangeValuesNamingTheField() {
    assertMessage("lora_rank", () -> new LoraConfig(0, 16, 0, List.of("q_proj")));
    assertMessage("lora_alpha", () -> new LoraConfig(8, 0, 0, List.of("q_proj")));
    assertMessage("lora_alpha", () -> new LoraConfig(8, Double.NaN, 0, List.of("q_proj")));
    assertMessage("lora_dropout", () -> new LoraConfig(8, 16, 1.0, List.of("q_proj")));
    assertMessage("lora_dropout", () -> new LoraConfig(8, 16, -0.1, List.of("q_proj")));
    assertMessage("target_modules", () -> new LoraConfig(8, 16, 0, List.of()));
    assertMessage("target_modules", () -> new LoraConfig(8, 16, 0, List.of(" ")));
    assertMessage("target_modules", () -> new LoraConfig(8, 16, 0, List.of("all-linear", "q_proj")));
  }

  @Test
  void allLinearIsRecognisedInAnyCase() {
    LoraConfig c = new LoraConfig(4, 8, 0, List.of("ALL-Linear"));
    assertTrue(c.allLinear());
    assertEquals(List.of(LoraConfig.ALL_LINEAR), c.targetModules());
  }

  @Test
  void openRlhfFlagsTurnLoraOffAtRankZero() {
    assertTrue(LoraConfig.fromFlags(LoraConfig.DEFAULT_RANK, LoraConfig.DEFAULT_ALPHA, LoraConfig.DEFAULT_DROPOUT,
        LoraConfig.DEFAULT_TARGET_MODULES).isEmpty());
    LoraConfig on = LoraConfig.fromFlags(16, 32, 0.1, List.of("all-linear")).orElseThrow();
    assertEquals(2.0, on.scaling());
    assertMessage("--lora_rank", () -> LoraConfig.fromFlags(-1, 16, 0, List.of("q_proj")));
  }

  @Test
  void targetModulesSplitOnCommasAndSpaces() {
    assertEquals(List.of("q_proj", "k_proj", "v_proj"), LoraConfig.parseTargetModules(" q_proj, k_proj  v_proj "));
  }

  private static void assertMessage(String fragment, org.junit.jupiter.api.function.Executable e) {
    IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
    assertTrue(ex.getMessage().contains(fragment), ex.getMessage());
  }
}
