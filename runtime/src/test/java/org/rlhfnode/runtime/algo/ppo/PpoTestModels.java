package org.rlhfnode.runtime.algo.ppo;

import java.util.List;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.ModelConfig;
import org.rlhfnode.runtime.model.ModelInit;
import org.rlhfnode.runtime.tensor.DeviceSpec;

/** Tiny random llama models and a rule-based reward for the PPO engine tests. */
final class PpoTestModels {
  static final long TARGET = 7;

  private PpoTestModels() {}

  static ModelConfig tinyConfig() {
    return ModelConfig.parse("{\"model_type\":\"llama\",\"vocab_size\":32,\"hidden_size\":32,"
        + "\"intermediate_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
        + "\"bos_token_id\":1,\"eos_token_id\":2}");
  }

  static CausalLm policy(long seed, double std) {
    return ModelInit.random(tinyConfig(), seed, std, ScalarType.Float, DeviceSpec.CPU, false);
  }

  static CausalLm critic(long seed) {
    return ModelInit.random(tinyConfig(), seed, 0.02, ScalarType.Float, DeviceSpec.CPU, true);
  }

  /** s_i = share of generated tokens equal to {@link #TARGET}. */
  static SequenceReward targetShare() {
    return (prompts, responses) -> {
      double[] out = new double[responses.size()];
      for (int i = 0; i < out.length; i++) {
        long[] r = responses.get(i);
        int hits = 0;
        for (long t : r) {
          hits += t == TARGET ? 1 : 0;
        }
        out[i] = r.length == 0 ? 0 : (double) hits / r.length;
      }
      return out;
    };
  }

  static List<long[]> prompts() {
    return List.of(new long[] {1, 10, 11}, new long[] {1, 12}, new long[] {1, 13, 14, 15}, new long[] {1, 16});
  }
}
