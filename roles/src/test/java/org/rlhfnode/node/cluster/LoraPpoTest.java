package org.rlhfnode.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.node.cluster.PpoResumeTest.assertSameRun;
import static org.rlhfnode.node.cluster.PpoResumeTest.rows;
import static org.rlhfnode.node.cluster.PpoResumeTest.run;
import static org.rlhfnode.node.cluster.PpoResumeTest.with;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.lora.LoraCheckpoint;
import org.rlhfnode.runtime.lora.LoraModel;
import org.rlhfnode.runtime.metrics.MetricsRow;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelLoader;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * PPO with LoRA ({@code --lora_rank 8 --target_modules q_proj v_proj}, policy and critic) as one node: each
 * iteration syncs only the policy's adapters to the rollout engine (a few percent of the weights' bytes),
 * which serves them merged into the base; a run stopped with TERM and resumed with {@code --load_checkpoint}
 * repeats the undisturbed run bit for bit; the exported policy is the base with the trained adapters merged,
 * and the adapters are beside it in PEFT's format.
 */
class LoraPpoTest {
  private static final Path TINY = Path.of(System.getProperty("rlhf.repo")).resolve("examples/tiny-llama");
  private static final Duration LIMIT = Duration.ofMinutes(3);
  private static final String[] LORA = {"--lora_rank", "8", "--lora_alpha", "16", "--target_modules", "q_proj",
      "v_proj", "--actor_learning_rate", "1e-2"};

  @TempDir
  Path tmp;

  @Test
  void adaptersTrainSyncMergedResumeExactlyAndExport() throws Exception {
    Path rm = PpoResumeTest.rewardModel(tmp.resolve("rm"));
    Path undisturbed = tmp.resolve("undisturbed");
    try (NodeProcess all = NodeProcess.start(tmp.resolve("a.log"), with(run(undisturbed, rm, LORA), "--role", "all"))) {
      assertEquals(0, all.waitFor(LIMIT), all.tail());
    }
    long weightBytes = Files.size(TINY.resolve("model.safetensors"));
    for (MetricsRow r : rows(undisturbed)) {
      double synced = r.get("sync_bytes");
      assertTrue(synced > 0 && synced < 0.1 * weightBytes, "adapters only: " + synced + " of " + weightBytes);
    }
    Path save = tmp.resolve("stopped");
    List<String> stopped = run(save, rm, LORA);
    try (NodeProcess first = NodeProcess.start(tmp.resolve("b.log"), with(stopped, "--role", "all"))) {
      first.awaitLine(" 3/8 [", LIMIT);
      first.terminate();
      assertEquals(143, first.waitFor(LIMIT), first.tail());
    }
    try (NodeProcess resumed = NodeProcess.start(tmp.resolve("c.log"),
        with(stopped, "--role", "all", "--load_checkpoint"))) {
      assertEquals(0, resumed.waitFor(LIMIT), resumed.tail());
    }
    assertSameRun(rows(undisturbed), rows(save));
    assertEquals(8, rows(save).size());

    Path policy = save.resolve("policy");
    assertTrue(Files.isRegularFile(policy.resolve("adapter/adapter_model.safetensors")), "PEFT adapters");
    try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard();
        CausalLm exported = ModelLoader.load(policy, DeviceSpec.CPU, ScalarType.Float);
        CausalLm base = ModelLoader.load(TINY, DeviceSpec.CPU, ScalarType.Float);
        LoraModel adapters = LoraCheckpoint.load(base, policy.resolve("adapter"), 0)) {
      Tensor ids = Tensors.longs(new long[] {1, 5, 9, 13, 17, 21}, 1, 6);
      Tensor mask = Tensors.longs(new long[] {1, 1, 1, 1, 1, 1}, 1, 6);
      float[] merged = Tensors.toFloats(exported.forward(ids, mask));
      float[] attached = Tensors.toFloats(base.forward(ids, mask));
      adapters.setEnabled(false);
      float[] untrained = Tensors.toFloats(base.forward(ids, mask));
      double served = maxAbsDiff(merged, attached);
      assertTrue(served <= 1e-5, "exported = base + adapters: " + served);
      assertTrue(maxAbsDiff(merged, untrained) > 1e-4, "the adapters trained");
      String norm = "model.norm.weight";
      assertEquals(0.0, exported.parameters().get(norm).sub(base.parameters().get(norm)).abs().max().item_double(),
          "weights without adapters are the base's");
    }
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }
}
