package org.rlhfnode.runtime.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.io.CheckpointWeights;
import org.rlhfnode.runtime.io.TensorInfo;
import org.rlhfnode.runtime.plan.MemoryPlan.Role;

/** The planner's arithmetic against hand-checked numbers: ZeRO, DeepSpeed's estimators, KV cache, parameter counts. */
class MemoryPlanTest {
  /** Llama-2-7B's parameters, as its safetensors index reports (13,476,831,232 bytes in bf16). */
  private static final long LLAMA2_7B = 6_738_415_616L;
  private static final double GIB = 1L << 30;

  private static MemoryPlan.Options options(boolean bf16, int stage, boolean offload) {
    return new MemoryPlan.Options(bf16, stage, offload, false, false, false, 1, 1, 1, 1024, 1024, 80L << 30);
  }

  @ParameterizedTest
  @CsvSource({"llama-7b, 6738415616", "llama-13b, 13015864320", "codellama-34b, 33743970304",
      "llama-34b, 33743970304", "llama-70b, 68976648192", "llama3-8b, 8030261248", "llama3-70b, 70553706496"})
  void presetsHaveThePublishedParameterCounts(String preset, long params) {
    assertEquals(params, ModelSize.resolve(preset, false, "pretrain").params());
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "mixtral", "llama-sharded", "llama-bf16"})
  void fixtureParameterCountIsTheSumOfItsSafetensorsTensors(String name) {
    Path dir = Fixtures.hfTiny(name);
    long onDisk = 0;
    try (CheckpointWeights weights = CheckpointWeights.open(dir)) {
      for (String tensor : weights.names()) {
        TensorInfo info = weights.info(tensor);
        long n = 1;
        for (long d : info.shape()) {
          n *= d;
        }
        onDisk += n;
      }
    }
    assertEquals(onDisk, ModelSize.resolve(dir.toString(), false, "pretrain").params());
  }

  @Test
  void tiedAndUntiedFixturesMatchTheirReadme() {
    assertEquals(133_440, ModelSize.resolve(Fixtures.hfTiny("llama").toString(), false, "pretrain").params());
    assertEquals(113_216, ModelSize.resolve(Fixtures.hfTiny("qwen2").toString(), false, "pretrain").params());
  }

  @Test
  void scoreHeadAddsOneRowOfHiddenSize() {
    ModelSize lm = ModelSize.resolve("llama-7b", false, "pretrain");
    ModelSize critic = ModelSize.resolve("llama-7b", true, "critic_pretrain");
    assertEquals(lm.params() + 4096, critic.params());
    assertEquals(32000L * 4096, lm.largestModuleParams());
  }

  /** The ZeRO paper's mixed-precision model states (2 + 2 + 12)Ψ and their division over N, exactly. */
  @ParameterizedTest
  @CsvSource({"0,1", "0,4", "0,8", "1,1", "1,4", "1,8", "2,1", "2,4", "2,8", "3,1", "3,4", "3,8"})
  void llama7bModelStatesFollowZeroInMixedPrecisionAndFp32(int stage, int n) {
    long p = LLAMA2_7B;
    ZeroMemory bf16 = ZeroMemory.trainer(p, stage, n, true, false);
    assertEquals(2 * p / (stage >= 3 ? n : 1), bf16.weights());
    assertEquals(2 * p / (stage >= 2 ? n : 1), bf16.grads());
    assertEquals(12 * p / (stage >= 1 ? n : 1), bf16.optimizer());
    long[] totals = {16 * p, 4 * p + 12 * p / n, 2 * p + 14 * p / n, 16 * p / n};
    assertEquals(totals[stage], bf16.deviceTotal());
    ZeroMemory fp32 = ZeroMemory.trainer(p, stage, n, false, false);
    assertEquals(4 * p / (stage >= 3 ? n : 1), fp32.weights());
    assertEquals(4 * p / (stage >= 2 ? n : 1), fp32.grads());
    assertEquals(8 * p / (stage >= 1 ? n : 1), fp32.optimizer());
    ZeroMemory offloaded = ZeroMemory.trainer(p, stage, n, true, true);
    assertEquals(0, offloaded.optimizer());
    assertEquals(bf16.optimizer(), offloaded.host());
    assertEquals(bf16.weights() + bf16.grads(), offloaded.deviceTotal());
  }

  /** Fig. 1 of the ZeRO paper: Ψ = 7.5B, N = 64, K = 12 → 120, 31.4, 16.6 and 1.9 GB per device. */
  @Test
  void reproducesTheZeroPapersFigureOne() {
    long p = 7_500_000_000L;
    String[] want = {"120.0", "31.4", "16.6", "1.9"};
    for (int stage = 0; stage <= 3; stage++) {
      long bytes = ZeroMemory.trainer(p, stage, 64, true, false).deviceTotal();
      assertEquals(want[stage], String.format(Locale.ROOT, "%.1f", bytes / 1e9), "stage " + stage);
    }
  }

  /** DeepSpeed's docs (memory.html), t5-3b cold: 2851e6 params, 32e6 largest layer, 1 node × 8 GPUs. */
  @Test
  void reproducesDeepSpeedsPublishedEstimates() {
    long p = 2_851_000_000L;
    assertGib("5.31", "127.45", DeepSpeedEstimate.zero2(p, 8, 1, true));
    assertGib("15.93", "127.45", DeepSpeedEstimate.zero2(p, 8, 1, false));
    assertGib("0.12", "71.69", DeepSpeedEstimate.zero3(p, 32_000_000L, 8, 1, true, true));
    assertGib("0.78", "63.72", DeepSpeedEstimate.zero3(p, 32_000_000L, 8, 1, true, false));
    assertGib("6.09", "1.43", DeepSpeedEstimate.zero3(p, 32_000_000L, 8, 1, false, false));
  }

  private static void assertGib(String gpu, String cpu, DeepSpeedEstimate e) {
    assertEquals(gpu, String.format(Locale.ROOT, "%.2f", e.gpuBytes() / GIB));
    assertEquals(cpu, String.format(Locale.ROOT, "%.2f", e.cpuBytes() / GIB));
  }

  @Test
  void kvCacheOfHandExamples() {
    // Llama-2-7B: 2 (K, V) · 32 layers · 32 heads · 128 dims · 2 bytes = 512 KiB per token
    ModelSize l7 = ModelSize.resolve("llama-7b", false, "pretrain");
    assertEquals(524_288L, ActivationMemory.kvCache(l7, 1, 1, 1, 2));
    // Llama-2-70B, 8 KV heads over TP 8 → one head per rank: 2·80·1·128·2 · 16 sequences · 2048 tokens
    ModelSize l70 = ModelSize.resolve("llama-70b", false, "pretrain");
    assertEquals(1_342_177_280L, ActivationMemory.kvCache(l70, 8, 16, 2048, 2));
    // more ranks than KV heads: heads are replicated, not split below one
    assertEquals(ActivationMemory.kvCache(l70, 8, 16, 2048, 2), ActivationMemory.kvCache(l70, 16, 16, 2048, 2));
  }

  @Test
  void rolloutPlanDividesWeightsAndKvCacheOverTensorParallelRanks() {
    ModelSize l70 = ModelSize.resolve("llama-70b", false, "pretrain");
    MemoryPlan.Options o = new MemoryPlan.Options(true, 3, false, false, false, true, 1, 4, 4, 1024, 1024, 80L << 30);
    MemoryPlan.RolePlan plan = MemoryPlan.rollout(l70, DeviceGroup.parse("cuda:0,1,2,3,4,5,6,7", "0", "x"), 8, o);
    assertEquals(2 * l70.params() / 8, plan.perDevice().weights());
    assertEquals(2L * 80 * 1 * 128 * 2 * 16 * 2048, plan.perDevice().kvCache());
    assertEquals(0, plan.perDevice().grads() + plan.perDevice().optimizer());
  }

  @Test
  void activationsOfHandExample() {
    ModelSize m = ModelSize.resolve("llama-7b", false, "pretrain");
    long layer = 34L * 2048 * 4096 + 5L * 32 * 2048 * 2048; // s·b·h·(34 + 5as/h), b = 1
    long logits = 2048L * 32000 * 4;
    assertEquals(layer, ActivationMemory.layer(m, 2048, 1, true, false));
    assertEquals(34L * 2048 * 4096, ActivationMemory.layer(m, 2048, 1, true, true));
    assertEquals(2 * layer, ActivationMemory.layer(m, 2048, 1, false, false));
    assertEquals(32 * layer + logits, ActivationMemory.training(m, 2048, 1, true, false, false, false));
    long checkpointed = 32L * 2 * 2048 * 4096 + layer + logits; // L · 2sbh + one layer + logits
    assertEquals(checkpointed, ActivationMemory.training(m, 2048, 1, true, false, true, false));
    assertEquals(32 * layer + 2048L * 4, ActivationMemory.training(m, 2048, 1, true, false, false, true));
  }

  @Test
  void referenceIsShardedOnlyAtZeroStageThreeAndOffloadLeavesOneModule() {
    ModelSize m = ModelSize.resolve("llama-13b", false, "pretrain");
    DeviceGroup four = DeviceGroup.parse("cuda:0,1,2,3", "0", "ref_devices");
    assertEquals(2 * m.params(), MemoryPlan.scorer(Role.REFERENCE, List.of(m), four, options(true, 2, false))
        .perDevice().weights());
    assertEquals(2 * m.params() / 4, MemoryPlan.scorer(Role.REFERENCE, List.of(m), four, options(true, 3, false))
        .perDevice().weights());
    MemoryPlan.Options offload = new MemoryPlan.Options(true, 0, false, false, true, false, 1, 1, 1, 8, 8, 80L << 30);
    MemoryPlan.RolePlan off = MemoryPlan.scorer(Role.REFERENCE, List.of(m), four, offload);
    assertEquals(2 * m.largestModuleParams(), off.perDevice().weights());
    assertEquals(2 * m.params(), off.hostBytes());
  }

  @Test
  void colocatedRolesAddUpOnTheSharedDevicesOnly() {
    ModelSize m = ModelSize.resolve("llama-7b", false, "pretrain");
    MemoryPlan.Options o = options(true, 3, true);
    MemoryPlan.RolePlan actor = MemoryPlan.trainer(Role.ACTOR, m, DeviceGroup.parse("cuda:0,1,2,3", "0", "a"), o);
    MemoryPlan.RolePlan ref = MemoryPlan.scorer(Role.REFERENCE, List.of(m), DeviceGroup.parse("cuda:3", "0", "r"), o);
    MemoryPlan.RolePlan rollout = MemoryPlan.rollout(m, DeviceGroup.parse("cuda:3", "1", "o"), 1, o);
    List<MemoryPlan.Colocation> shared = MemoryPlan.colocations(List.of(actor, ref, rollout));
    assertEquals(1, shared.size(), "cuda:3 of machine 1 is another device");
    MemoryPlan.Colocation c = shared.get(0);
    assertEquals(List.of(Role.ACTOR, Role.REFERENCE), c.roles());
    assertEquals(4, c.devices());
    assertEquals(actor.perDevice().total() + ref.perDevice().total(), c.perDevice().total());
    assertEquals(c.perDevice().total() - Math.min(actor.perDevice().activations(), ref.perDevice().activations()),
        c.sequentialTotal());
  }

  @Test
  void fitsComparesTheTotalWithTheDeviceMemory() {
    ModelSize m = ModelSize.resolve("llama-7b", false, "pretrain");
    DeviceGroup one = DeviceGroup.parse("cuda:0", "0", "actor_devices");
    assertFalse(MemoryPlan.trainer(Role.ACTOR, m, one, options(true, 0, false)).fits(), "16Ψ = 108 GB > 80 GiB");
    MemoryPlan.RolePlan eight = MemoryPlan.trainer(Role.ACTOR, m, DeviceGroup.counted("a", 1, 8, "x"),
        options(true, 3, false));
    assertTrue(eight.fits());
    assertEquals(eight.perDevice().total(), eight.perDevice().modelStates() + eight.perDevice().activations());
  }

  @Test
  void errorsNameTheFlagOrTheFile(@TempDir Path tmp) throws Exception {
    IllegalArgumentException preset = assertThrows(IllegalArgumentException.class,
        () -> ModelSize.resolve("llama-9b", false, "pretrain"));
    assertTrue(preset.getMessage().startsWith("--pretrain 'llama-9b'"), preset.getMessage());
    Files.createDirectories(tmp.resolve("empty"));
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> ModelSize.resolve(tmp.resolve("empty").toString(), false, "pretrain"));
    assertTrue(missing.getMessage().contains("config.json"), missing.getMessage());
    IllegalArgumentException group = assertThrows(IllegalArgumentException.class,
        () -> DeviceGroup.parse("cuda:0,0", "0", "actor_devices"));
    assertTrue(group.getMessage().startsWith("--actor_devices"), group.getMessage());
    IllegalArgumentException stage = assertThrows(IllegalArgumentException.class, () -> options(true, 4, false));
    assertTrue(stage.getMessage().startsWith("--zero_stage"), stage.getMessage());
  }
}
