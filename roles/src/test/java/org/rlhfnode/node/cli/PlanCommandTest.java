package org.rlhfnode.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code plan}: JSON lines per role from flags or a run file, colocation, and the one-line error policy. */
class PlanCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long GIB = 1L << 30;

  /** The stdout lines by role; every line must be a JSON object. */
  private static Map<String, JsonNode> lines(CliTest.Run r) throws Exception {
    assertEquals(0, r.code(), r.err());
    Map<String, JsonNode> out = new LinkedHashMap<>();
    for (String line : r.out().strip().split("\n")) {
      JsonNode n = JSON.readTree(line);
      out.put(n.get("role").asText(), n);
    }
    return out;
  }

  private static CliTest.Run plan(String... args) {
    List<String> all = new ArrayList<>(List.of("plan"));
    all.addAll(List.of(args));
    return CliTest.run(all.toArray(String[]::new));
  }

  @Test
  void colocatedOpenRlhfFlagsGiveEveryRoleAndTheirSum() throws Exception {
    CliTest.Run r = plan("--pretrain", "llama-7b", "--reward_pretrain", "llama-7b", "--actor_num_nodes", "1",
        "--actor_num_gpus_per_node", "4", "--zero_stage", "3", "--adam_offload", "--gradient_checkpointing",
        "--vllm_num_engines", "2", "--vllm_tensor_parallel_size", "2", "--micro_train_batch_size", "4",
        "--micro_rollout_batch_size", "16", "--prompt_max_len", "1024", "--generate_max_len", "1024", "--bf16",
        "--colocate_all_models", "--flash_attn", "--device_memory_gb", "80");
    Map<String, JsonNode> roles = lines(r);
    assertEquals(List.of("actor", "critic", "rollout", "reference", "reward", "colocated"),
        List.copyOf(roles.keySet()));
    JsonNode actor = roles.get("actor");
    assertEquals(6_738_415_616L, actor.get("params").asLong());
    assertEquals(4, actor.get("devices").asInt());
    JsonNode b = actor.get("bytes_per_device");
    assertEquals(2 * 6_738_415_616L / 4, b.get("weights").asLong());
    assertEquals(2 * 6_738_415_616L / 4, b.get("grads").asLong());
    assertEquals(0, b.get("optimizer").asLong());
    assertEquals(12 * 6_738_415_616L / 4, actor.get("host_bytes").asLong());
    assertEquals(80 * GIB, actor.get("device_memory_bytes").asLong());
    assertEquals(2, roles.get("rollout").get("tp").asInt());
    assertTrue(roles.get("rollout").get("bytes_per_device").get("kv_cache").asLong() > 0);
    long sum = 0;
    for (String role : List.of("actor", "critic", "rollout", "reference", "reward")) {
      JsonNode bytes = roles.get(role).get("bytes_per_device");
      long parts = bytes.get("weights").asLong() + bytes.get("grads").asLong() + bytes.get("optimizer").asLong()
          + bytes.get("activations").asLong() + bytes.get("kv_cache").asLong();
      assertEquals(parts, bytes.get("total").asLong(), role);
      sum += parts;
    }
    JsonNode colocated = roles.get("colocated");
    assertEquals(sum, colocated.get("bytes_per_device").get("total").asLong());
    assertEquals(sum <= 80 * GIB, colocated.get("fits").asBoolean());
    assertEquals(1, r.err().strip().split("\n").length, r.err());
    assertTrue(r.err().startsWith("plan: "), r.err());
  }

  @Test
  void groupEstimatorWithoutKlHasNeitherCriticNorReference() throws Exception {
    Map<String, JsonNode> roles = lines(plan("--pretrain", "llama-13b", "--reward_pretrain", "llama-7b",
        "--advantage_estimator", "group_norm", "--init_kl_coef", "0", "--actor_num_gpus_per_node", "8",
        "--bf16", "--zero_stage", "2", "--vllm_num_engines", "2"));
    assertEquals(List.of("actor", "rollout", "reward"), List.copyOf(roles.keySet()));
    assertEquals(2, roles.get("rollout").get("devices").asInt());
    assertEquals(1, roles.get("rollout").get("tp").asInt(), "OpenRLHF's default tensor-parallel size");
    JsonNode actor = roles.get("actor");
    long p = actor.get("params").asLong();
    assertEquals(2 * p, actor.get("bytes_per_device").get("weights").asLong());
    assertEquals(2 * p / 8, actor.get("bytes_per_device").get("grads").asLong());
    assertEquals(12 * p / 8, actor.get("bytes_per_device").get("optimizer").asLong());
    assertEquals(8, roles.get("reward").get("devices").asInt(), "OpenRLHF's default 1 node × 8");
  }

  /** The command large-70b.conf documents: four 8 × 80 GB machines hold a 70B PPO run. */
  @Test
  void runFilePlacementOnSeveralMachinesDoesNotShareDevices(@TempDir Path tmp) throws Exception {
    Path run = tmp.resolve("run.conf");
    Files.writeString(run, "include classpath(\"placements/large-70b.conf\")\n"
        + "rlhf.model.pretrain = llama-70b\nrlhf.model.reward_pretrain = llama-70b\nrlhf.train.bf16 = true\n");
    String[] layout = {"--config", run.toString(), "--zero_stage", "3", "--adam_offload", "--gradient_checkpointing",
        "--bf16", "--flash_attn", "--micro_train_batch_size", "4", "--micro_rollout_batch_size", "16",
        "--prompt_max_len", "1024", "--generate_max_len", "1024",
        "--n_samples_per_prompt", "1", "--machine", "supervisor,trainer", "--machine", "rollout",
        "--machine", "reference,reward", "--machine", "critic"};
    Map<String, JsonNode> roles = lines(plan(layout));
    assertFalse(roles.containsKey("colocated"), roles.keySet().toString());
    assertEquals(8, roles.get("actor").get("devices").asInt());
    assertEquals(8, roles.get("rollout").get("tp").asInt());
    assertEquals(4, roles.get("reference").get("devices").asInt());
    roles.values().forEach(n -> assertTrue(n.get("fits").asBoolean(), n.toString()));
    Map<String, JsonNode> oneMachine = lines(plan("--config", run.toString(), "--zero_stage", "3"));
    assertTrue(oneMachine.containsKey("colocated"), "the same ids on one machine are the same devices");
  }

  @Test
  void modelDirectoryIsCountedFromItsConfig() throws Exception {
    Map<String, JsonNode> roles = lines(plan("--pretrain", CliTest.fixture("llama").toString(),
        "--reward_pretrain", CliTest.fixture("qwen2").toString(), "--init_kl_coef", "0"));
    assertEquals(133_440, roles.get("actor").get("params").asLong());
    assertEquals(113_216 + 64, roles.get("reward").get("params").asLong(), "+ the score head");
    assertEquals(113_216 + 64, roles.get("critic").get("params").asLong(), "the critic starts from the reward model");
    assertTrue(roles.get("colocated").get("fits").asBoolean(), "cpu roles of one node share the host");
  }

  @Test
  void unknownPresetMissingConfigAndBadValuesExitTwo(@TempDir Path tmp) {
    assertError(plan("--pretrain", "llama-9b"), "--pretrain 'llama-9b'");
    assertError(plan("--pretrain", tmp.toString()), "config.json");
    assertError(plan("--pretrain", "llama-7b", "--device_memory_gb", "-1"), "--device_memory_gb");
    assertError(plan("--pretrain", "llama-7b", "--actor_num_gpus_per_node", "0"), "--actor_num");
    assertError(plan("--pretrain", "llama-7b", "--zero_stage", "5"), "--zero_stage");
    assertError(plan("--pretrain", "llama-7b", "--rollout_devices", "cuda:0,1,2", "--vllm_tensor_parallel_size", "2"),
        "--vllm_tensor_parallel_size 2");
    assertError(plan("--pretrain", "llama-7b", "--machine", "trainer"), "--machine");
    assertError(plan("--pretrain", "llama-7b", "--advantage_estimator", "group_norm", "--n_samples_per_prompt", "1"),
        "n_samples_per_prompt");
    assertError(plan("--pretrain", "llama-7b", "--no_such_flag", "1"), "--no_such_flag");
  }

  private static void assertError(CliTest.Run r, String mustContain) {
    assertEquals(2, r.code(), r.out() + r.err());
    String first = r.err().strip().split("\n")[0];
    assertTrue(first.startsWith("error: "), first);
    if (mustContain != null) {
      assertTrue(first.contains(mustContain), first);
    }
    assertTrue(r.out().isEmpty(), r.out());
  }
}
