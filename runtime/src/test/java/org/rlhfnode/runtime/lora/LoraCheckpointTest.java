package org.rlhfnode.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.Fixtures;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.io.SafetensorsFile;
import org.rlhfnode.runtime.io.SafetensorsWriter;
import org.rlhfnode.runtime.io.TensorInfo;
import org.rlhfnode.runtime.io.TensorPayload;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.tensor.Tensors;

class LoraCheckpointTest {

  /** Saves an all-linear rank-8 adapter with random B for the llama fixture into {@code dir}. */
  private static float[] saveAdapter(CausalLm model, Path dir, String... targets) {
    try (LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0.05, targets), 21)) {
      LoraTestSupport.randomizeB(lora, 22, 0.05);
      LoraCheckpoint.save(lora, dir, "hf-tiny/llama");
      return LoraTestSupport.logits(model, "llama");
    }
  }

  @Test
  void savedAdapterReloadsBitIdentically(@TempDir Path dir) {
    try (CausalLm model = LoraTestSupport.load("llama"); PointerScope s = new PointerScope()) {
      Map<String, float[]> saved = new java.util.LinkedHashMap<>();
      float[] adapted;
      try (LoraModel lora = LoraModel.attach(model, LoraTestSupport.config(8, 16, 0.05, "all-linear"), 21)) {
        LoraTestSupport.randomizeB(lora, 22, 0.05);
        lora.trainableParameters().forEach((n, t) -> saved.put(n, Tensors.toFloats(t)));
        adapted = LoraTestSupport.logits(model, "llama");
        LoraCheckpoint.save(lora, dir, "hf-tiny/llama");
      }
      try (LoraModel loaded = LoraCheckpoint.load(model, dir, 99)) {
        assertEquals(new LoraConfig(8, 16, 0.05, List.of("down_proj", "gate_proj", "k_proj", "o_proj", "q_proj",
            "up_proj", "v_proj")), loaded.config());
        Map<String, Tensor> params = loaded.trainableParameters();
        assertEquals(saved.keySet(), params.keySet());
        saved.forEach((n, want) -> assertArrayEquals(want, Tensors.toFloats(params.get(n)), 0f, n));
        params.values().forEach(t -> assertTrue(t.requires_grad()));
        assertArrayEquals(adapted, LoraTestSupport.logits(model, "llama"), 0f);
      }
    }
  }

  @Test
  void filesUsePeftNamesAndConfigKeys(@TempDir Path dir) {
    try (CausalLm model = LoraTestSupport.load("llama")) {
      saveAdapter(model, dir, "q_proj", "v_proj");
    }
    JsonNode config = Fixtures.json(dir.resolve(LoraCheckpoint.CONFIG_FILE));
    assertEquals("LORA", config.get("peft_type").asText());
    assertEquals("CAUSAL_LM", config.get("task_type").asText());
    assertEquals(8, config.get("r").asInt());
    assertTrue(config.get("lora_alpha").isInt(), "lora_alpha is written as PEFT's int");
    assertEquals(16, config.get("lora_alpha").asInt());
    assertEquals(0.05, config.get("lora_dropout").asDouble());
    assertEquals("[\"q_proj\",\"v_proj\"]", config.get("target_modules").toString());
    assertEquals("hf-tiny/llama", config.get("base_model_name_or_path").asText());
    assertEquals("none", config.get("bias").asText());
    try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(LoraCheckpoint.WEIGHTS_FILE))) {
      assertEquals("pt", f.metadata().get("format"));
      assertEquals(8, f.tensors().size());
      TensorInfo a = f.find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").orElseThrow();
      TensorInfo b = f.find("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight").orElseThrow();
      assertArrayEquals(new long[] {8, 64}, a.shape());
      assertArrayEquals(new long[] {32, 8}, b.shape()); // v_proj: 2 KV heads × 16
      assertEquals("F32", a.dtype().safetensorsName());
    }
  }

  @Test
  void rankThatDisagreesWithTheFileNamesFileAndTensor(@TempDir Path dir) throws Exception {
    try (CausalLm model = LoraTestSupport.load("llama")) {
      saveAdapter(model, dir, "q_proj");
      Path config = dir.resolve(LoraCheckpoint.CONFIG_FILE);
      Files.writeString(config, Files.readString(config).replaceFirst("\"r\" : 8", "\"r\" : 4"));
      CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
          () -> LoraCheckpoint.load(model, dir, 0));
      assertTrue(e.getMessage().startsWith(dir.resolve(LoraCheckpoint.WEIGHTS_FILE).toString())
          && e.getMessage().contains("model.layers.0.self_attn.q_proj.lora_A.weight has shape [8, 64], expected [4, 64]")
          && !e.getMessage().contains("\n"), e.getMessage());
      model.linears().values().forEach(l -> assertNull(l.adapter(), "a failed load leaves no adapter behind"));
    }
  }

  @Test
  void malformedWeightFilesAreClearErrors(@TempDir Path dir) throws Exception {
    try (CausalLm model = LoraTestSupport.load("llama"); PointerScope s = new PointerScope()) {
      saveAdapter(model, dir, "q_proj");
      String a0 = PeftNames.loraA("model.layers.0.self_attn.q_proj");
      String b1 = PeftNames.loraB("model.layers.1.self_attn.q_proj");
      rewrite(dir, a0, torch.zeros(8, 63));
      assertLoadFails(model, dir, a0 + " has shape [8, 63], expected [8, 64]");
      saveAdapter(model, dir, "q_proj");
      rewrite(dir, b1, null);
      assertLoadFails(model, dir, "lacks tensor " + b1);
      saveAdapter(model, dir, "q_proj");
      rewrite(dir, PeftNames.loraA("model.layers.0.self_attn.k_proj"), torch.zeros(8, 64));
      assertLoadFails(model, dir, "tensor " + PeftNames.loraA("model.layers.0.self_attn.k_proj") + " is not an adapter");
      saveAdapter(model, dir, "q_proj");
      rewrite(dir, a0, torch.zeros(8, 64).to(ScalarType.Long));
      assertLoadFails(model, dir, a0 + " is I64");
    }
  }

  @Test
  void unsupportedOrUnknownConfigIsRejected(@TempDir Path dir) throws Exception {
    try (CausalLm model = LoraTestSupport.load("llama")) {
      saveAdapter(model, dir, "q_proj");
      Path config = dir.resolve(LoraCheckpoint.CONFIG_FILE);
      String original = Files.readString(config);
      Files.writeString(config, original.replace("\"use_dora\" : false", "\"use_dora\" : true"));
      assertLoadFails(model, dir, "use_dora = true is not supported");
      Files.writeString(config, original.replace("[ \"q_proj\" ]", "[ \"qkv_proj\" ]"));
      assertLoadFails(model, dir, "'qkv_proj' matches no projection");
      // a string is PEFT's whole-name regex, resolved to the module names it matches
      Files.writeString(config, original.replace("[ \"q_proj\" ]", "\"model\\\\.layers\\\\.[01]\\\\.self_attn\\\\.q_proj\""));
      try (LoraModel regex = LoraCheckpoint.load(model, dir, 0)) {
        assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"),
            regex.config().targetModules());
      }
      Files.writeString(config, original.replace("[ \"q_proj\" ]", "\".*\\\\.1\\\\.self_attn\\\\.q_proj\""));
      assertLoadFails(model, dir, "tensor " + PeftNames.loraA("model.layers.0.self_attn.q_proj") + " is not an adapter");
      Files.delete(dir.resolve(LoraCheckpoint.WEIGHTS_FILE));
      assertLoadFails(model, dir, "no " + LoraCheckpoint.WEIGHTS_FILE);
    }
  }

  /** Rewrites the weights file with {@code name} replaced by {@code value} (or removed when null, added when new). */
  private static void rewrite(Path dir, String name, Tensor value) {
    Path file = dir.resolve(LoraCheckpoint.WEIGHTS_FILE);
    List<TensorPayload> payloads = new ArrayList<>();
    boolean replaced = false;
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      for (TensorInfo t : f.tensors()) {
        if (!t.name().equals(name)) {
          java.nio.ByteBuffer copy = java.nio.ByteBuffer.allocate((int) t.byteLength());
          f.copyTo(t.name(), copy);
          payloads.add(TensorPayload.of(t.name(), t.dtype(), t.shape(), copy.flip()));
        } else if (value != null) {
          payloads.add(NativeTensors.payload(name, value.contiguous()));
          replaced = true;
        }
      }
    }
    if (!replaced && value != null) {
      payloads.add(NativeTensors.payload(name, value.contiguous()));
    }
    SafetensorsWriter.write(file, payloads, Map.of());
  }

  private static void assertLoadFails(CausalLm model, Path dir, String fragment) {
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> LoraCheckpoint.load(model, dir, 0));
    assertTrue(e.getMessage().contains(fragment) && e.getMessage().contains(dir.toString()), e.getMessage());
    model.linears().values().forEach(l -> assertNull(l.adapter()));
  }
}
